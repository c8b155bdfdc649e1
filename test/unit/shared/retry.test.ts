import { describe, expect, it } from 'vitest';
import { fullJitter, retry } from '../../../lambdas/shared/retry.js';

const named = (name: string) => Object.assign(new Error(name), { name });

describe('Server retries', () => {
  it('full jitter stays below min(cap, base * 2^attempt), and never overflows', () => {
    expect(fullJitter(0, 50, 2_000, () => 0.999)).toBeLessThan(50);
    expect(fullJitter(3, 50, 2_000, () => 0.999)).toBeLessThan(400);
    expect(fullJitter(10, 50, 2_000, () => 0.999)).toBeLessThan(2_000);
    expect(fullJitter(10, 50, 2_000, () => 0)).toBe(0);
    expect(fullJitter(5_000, 50, 2_000, () => 0.5)).toBe(1_000);
  });

  it('retries what it may, waiting the delay of each attempt, until the run succeeds', async () => {
    // Prepare
    let calls = 0;
    const waits: number[] = [];

    // Act
    const result = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw named('Busy');
        return 'done';
      },
      {
        attempts: 5,
        retryable: (error) => error instanceof Error && error.name === 'Busy',
        delayMs: (attempt) => 10 * (attempt + 1),
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );

    // Assess
    expect(result).toBe('done');
    expect(waits).toEqual([10, 20]);
  });

  it('throws at once what it may not retry, and the last failure once the attempts are spent', async () => {
    const options = {
      retryable: (e: unknown) => (e as Error).name === 'Busy',
      delayMs: () => 0,
      sleep: async () => {},
    };
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw named('Broken');
        },
        { ...options, attempts: 5 },
      ),
    ).rejects.toThrow('Broken');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw named('Busy');
        },
        { ...options, attempts: 3 },
      ),
    ).rejects.toThrow('Busy');
    expect(calls).toBe(3);
  });
});
