import { describe, expect, it } from 'vitest';
import { exponential, fullJitter, isRetryLater, RetryLater, retry } from '../../../lambdas/shared/retry.js';

const named = (name: string) => Object.assign(new Error(name), { name });

describe('Server retries', () => {
  it('full jitter stays below min(cap, base * 2^attempt), and never overflows', () => {
    expect(fullJitter(0, 50, 2_000, () => 0.999)).toBeLessThan(50);
    expect(fullJitter(3, 50, 2_000, () => 0.999)).toBeLessThan(400);
    expect(fullJitter(10, 50, 2_000, () => 0.999)).toBeLessThan(2_000);
    expect(fullJitter(10, 50, 2_000, () => 0)).toBe(0);
    expect(fullJitter(5_000, 50, 2_000, () => 0.5)).toBe(1_000);
  });

  it('exponential backoff doubles from the base up to the cap, and never overflows', () => {
    expect([0, 1, 2, 3, 4].map((attempt) => exponential(attempt, 50, 400))).toEqual([50, 100, 200, 400, 400]);
    expect(exponential(5_000, 50, 400)).toBe(400);
  });

  it('runs again an attempt that is not done yet, and hands back the last one when the attempts are spent', async () => {
    // Prepare
    const outcomes = [new RetryLater('busy'), new RetryLater('still busy'), 'done'];
    const waits: number[] = [];
    const run = async () => {
      const next = outcomes.shift();
      if (next instanceof RetryLater) throw next;
      return next;
    };
    const options = {
      retryable: isRetryLater,
      delayMs: (attempt: number) => exponential(attempt, 10, 1_000),
      sleep: async (ms: number) => void waits.push(ms),
    };

    // Act
    const done = await retry(run, { ...options, attempts: 3 });
    const spent = await retry(async () => Promise.reject(new RetryLater('never')), {
      ...options,
      attempts: 2,
    }).catch((error: unknown) => error);

    // Assess
    expect(done).toBe('done');
    expect(waits).toEqual([10, 20, 10]);
    expect(isRetryLater(spent) && spent.message).toBe('never');
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
