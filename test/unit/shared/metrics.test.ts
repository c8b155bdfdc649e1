import middy from '@middy/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { count, MetricName, metrics, publishMetrics } from '../../../lambdas/shared/metrics.js';
import { flushMetrics } from '../../../lambdas/shared/route.js';
import { lambdaContext } from '../../helpers/events.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Shared: metrics', () => {
  it('publishes only when something was recorded', () => {
    // Prepare
    const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    vi.spyOn(metrics, 'hasStoredMetrics').mockReturnValueOnce(false).mockReturnValueOnce(true);

    // Act
    publishMetrics();
    publishMetrics();

    // Assess
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('count adds a Count metric and skips zero', () => {
    // Prepare
    const add = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);

    // Act
    count(MetricName.MessagesDelivered, 3);
    count(MetricName.ConnectionsGone, 0);

    // Assess
    expect(add.mock.calls).toEqual([['MessagesDelivered', 'Count', 3]]);
  });

  it('the flush middleware publishes after the handler and after an error', async () => {
    // Prepare
    const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    vi.spyOn(metrics, 'hasStoredMetrics').mockReturnValue(true);
    const ok = middy()
      .use(flushMetrics())
      .handler(async () => 'done');
    const failing = middy()
      .use(flushMetrics())
      .handler(async () => {
        throw new Error('boom');
      });

    // Act
    await ok({}, lambdaContext());
    await expect(failing({}, lambdaContext())).rejects.toThrow('boom');

    // Assess
    expect(publish).toHaveBeenCalledTimes(2);
  });
});
