import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../../../lambdas/handlers/connect.js';
import {
  count,
  MetricName,
  metrics,
  publishMetrics,
  TimingName,
  timing,
} from '../../../lambdas/shared/metrics.js';
import { flushMetrics } from '../../../lambdas/shared/route.js';
import { connectEvent, lambdaContext } from '../../helpers/events.js';
import { NOW, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);

afterEach(() => {
  vi.restoreAllMocks();
  apiMock.reset();
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

  it('timing records milliseconds and never a negative value (clock skew between regions)', () => {
    // Prepare
    const add = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);

    // Act
    timing(TimingName.FanoutLatency, 250);
    timing(TimingName.FanoutLatency, -40);

    // Assess
    expect(add.mock.calls).toEqual([
      ['FanoutLatency', 'Milliseconds', 250],
      ['FanoutLatency', 'Milliseconds', 0],
    ]);
  });

  it('$connect counts opened connections, and refused ones at the per-user limit', async () => {
    // Prepare
    const add = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    // c1 and alice's connection in another region are open, and alive, when c2 connects.
    apiMock.on(GetConnectionCommand).resolves({});
    const deps = unitDeps({ limits: { maxConnectionsPerUser: 2 } });

    // Act
    const opened = await connect(deps, connectEvent('c1', 'alice'));
    await deps.store.registerUserConnection({
      user: 'alice',
      connectionId: 'w1',
      region: 'eu-west-1',
      now: NOW,
      max: 10,
    });
    const refused = await connect(deps, connectEvent('c2', 'alice'));

    // Assess
    expect([opened.statusCode, refused.statusCode]).toEqual([200, 429]);
    expect(add.mock.calls.map((call) => call[0])).toEqual(['ConnectionsOpened', 'ConnectionsRefused']);
    expect(await deps.store.getConnection('c1')).toBeDefined();
    expect(await deps.store.getConnection('c2')).toBeUndefined();
  });
});
