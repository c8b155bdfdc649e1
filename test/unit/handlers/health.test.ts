import { afterEach, describe, expect, it, vi } from 'vitest';
import { health } from '../../../lambdas/handlers/health.js';
import { createMemoryStore } from '../../../lambdas/shared/store/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Handler: health', () => {
  it('answers 200 ok with the region when the replica answers', async () => {
    // Prepare
    const store = createMemoryStore();
    const probe = vi.spyOn(store, 'probe');

    // Act
    const result = await health(store, 'us-east-1');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(String(result.body))).toEqual({ status: 'ok', region: 'us-east-1' });
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('answers 503 unavailable with the reason when the replica fails', async () => {
    // Prepare
    const store = createMemoryStore();
    vi.spyOn(store, 'probe').mockRejectedValue(
      Object.assign(
        new Error('User: arn:aws:sts::123456789012:assumed-role/x is not authorized on table/parley'),
        { name: 'AccessDeniedException' },
      ),
    );

    // Act
    const result = await health(store, 'eu-west-1');

    // Assess
    expect(result.statusCode).toBe(503);
    // A generic reason: the body is public, and AWS's text carries account ids and ARNs.
    expect(JSON.parse(String(result.body))).toEqual({
      status: 'unavailable',
      region: 'eu-west-1',
      reason: "this region's table did not answer",
    });
    expect(String(result.body)).not.toMatch(/123456789012|arn:aws|AccessDenied/);
  });

  it('answers 503 when no table is configured', async () => {
    // Act
    const result = await health(undefined, 'eu-west-1');

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(String(result.body)).reason).toBe('the region is not configured');
  });
});
