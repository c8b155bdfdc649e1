/**
 * The local Lambda service with real worker threads and an esbuild bundle: each region's handlers
 * see that region's environment only (module state included), errors and timeouts fail the
 * invocation, a fault hook fails it without running the handler, and the region's concurrency
 * limit and a function's reserved concurrency throttle invocations beyond them.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntries } from '../../../local/bundle.js';
import {
  type InvocationRecord,
  LAMBDA_DEFAULT_CONCURRENCY_LIMIT,
  LambdaInvokeError,
  LambdaService,
  LambdaThrottledError,
  type LocalFunction,
} from '../../../local/lambda-service.js';

const root = join(import.meta.dirname, '..', '..', '..');
const services: LambdaService[] = [];
let east: LambdaService;
let west: LambdaService;
let probeBundles: { worker: string; handler: string };

const service = (region: string, bundles: { worker: string; handler: string }) => {
  const lambda = new LambdaService({
    region,
    functions: [
      {
        handler: 'probe',
        logicalId: 'ProbeFn',
        functionName: `Parley-${region}-probe`,
        environment: { TABLE_NAME: `table-${region}` },
        timeoutMs: 500,
        memoryMb: 128,
      },
    ],
    baseEnvironment: { AWS_REGION: region },
    workerFile: bundles.worker,
    bundles: { probe: bundles.handler },
    log: () => undefined,
  });
  services.push(lambda);
  return lambda;
};

beforeAll(async () => {
  const entry = 'test/unit/local/fixtures/probe-handler.ts';
  const bundled = await bundleEntries(root, [entry], join(root, '.local', 'test-build', 'lambda-service'));
  const bundles = { worker: bundled.worker as string, handler: bundled.entries[entry] as string };
  probeBundles = bundles;
  east = service('us-east-1', bundles);
  west = service('eu-west-1', bundles);
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

describe('Local Lambda service', () => {
  it("gives each region's handlers that region's environment, module state included", async () => {
    const a = (await east.invoke('probe', { mode: 'env' })) as Record<string, unknown>;
    const b = (await west.invoke('probe', { mode: 'env' })) as Record<string, unknown>;
    expect(a).toMatchObject({ regionAtImport: 'us-east-1', region: 'us-east-1', table: 'table-us-east-1' });
    expect(b).toMatchObject({ regionAtImport: 'eu-west-1', region: 'eu-west-1', table: 'table-eu-west-1' });
    expect(a.functionName).toBe('Parley-us-east-1-probe');
    expect(a.remaining).toBeGreaterThan(0);
    // Warm: the module stays loaded between invocations, per region.
    expect(((await east.invoke('probe', {})) as { invocations: number }).invocations).toBe(2);
    expect(((await west.invoke('probe', {})) as { invocations: number }).invocations).toBe(2);
  });

  it('fails an invocation whose handler throws, with the error type', async () => {
    const failure = await east.invoke('probe', { mode: 'throw' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LambdaInvokeError);
    expect(failure).toMatchObject({ errorType: 'TypeError', handler: 'probe' });
  });

  it('fails an invocation that outlives the function timeout', async () => {
    const failure = await west.invoke('probe', { mode: 'slow' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ errorType: 'Sandbox.Timedout' });
  });

  it('fails an invocation through a fault hook without running the handler', async () => {
    const records: boolean[] = [];
    const off = east.onInvocation((record) => records.push(record.ok));
    east.setFault('probe', () => {
      throw new Error('injected');
    });
    const failure = await east.invoke('probe', { mode: 'env' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ errorType: 'InjectedFault' });
    east.setFault('probe', undefined);
    const after = (await east.invoke('probe', { mode: 'env' })) as { invocations: number };
    off();
    expect(records).toEqual([false, true]);
    // The faulted invocation never reached the handler: its count went on from the earlier tests.
    expect(after.invocations).toBe(4);
  });
});

/** A function of the concurrency tests: the probe under another name, with time to be held. */
const fn = (handler: string, reservedConcurrency?: number): LocalFunction => ({
  handler,
  logicalId: `${handler}Fn`,
  functionName: `Parley-ap-south-1-${handler}`,
  environment: {},
  timeoutMs: 60_000,
  memoryMb: 128,
  ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
});

/** A region of its own (a fresh worker, so the probe's invocation count starts at 0). */
const limitedService = (concurrencyLimit: number, functions: LocalFunction[]) => {
  const lambda = new LambdaService({
    region: 'ap-south-1',
    functions,
    baseEnvironment: { AWS_REGION: 'ap-south-1' },
    workerFile: probeBundles.worker,
    bundles: Object.fromEntries(functions.map((f) => [f.handler, probeBundles.handler])),
    log: () => undefined,
    concurrencyLimit,
  });
  services.push(lambda);
  return lambda;
};

/** An HTTP server that answers each request only when the test says: a probe fetching it stays in flight. */
const holdingServer = async () => {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    held,
    close: () => {
      for (const res of held) if (!res.writableEnded) res.end('closing');
      server.closeAllConnections();
      server.close();
    },
  };
};

describe('Local Lambda service: concurrency', () => {
  it(`defaults to Lambda's ${LAMBDA_DEFAULT_CONCURRENCY_LIMIT} concurrent executions per region`, () => {
    expect(east.concurrencyLimit).toBe(1000);
    expect(east.unreservedConcurrency).toBe(1000);
  });

  it('throttles an invocation over the limit at once, without running the handler; after one finishes, a new one runs', async () => {
    const lambda = limitedService(2, [fn('probe')]);
    const server = await holdingServer();
    try {
      const first = lambda.invoke('probe', { mode: 'fetch', url: server.url });
      const second = lambda.invoke('probe', { mode: 'fetch', url: server.url });
      expect(lambda.inFlight).toBe(2);
      const records: InvocationRecord[] = [];
      const off = lambda.onInvocation((record) => records.push(record));
      const third = await lambda.invoke('probe', { mode: 'env' }).catch((error: unknown) => error);
      off();
      expect(third).toBeInstanceOf(LambdaThrottledError);
      expect(third).toMatchObject({
        handler: 'probe',
        errorType: 'TooManyRequestsException',
        reason: 'ConcurrentInvocationLimitExceeded',
        message: 'probe: TooManyRequestsException: Rate Exceeded.',
      });
      expect(records).toMatchObject([{ handler: 'probe', ok: false, throttled: true }]);

      // Both held invocations reach the handler; one finishes, which frees its unit.
      await expect.poll(() => server.held.length).toBe(2);
      server.held[0]?.end('one');
      expect(await first).toEqual({ fetched: 'one', invocations: 2 });
      expect(lambda.inFlight).toBe(1);
      // The next one runs, and is the handler's third invocation: the throttled one never ran.
      expect(await lambda.invoke('probe', { mode: 'env' })).toMatchObject({ invocations: 3 });
      server.held[1]?.end('two');
      expect(await second).toEqual({ fetched: 'two', invocations: 3 });
      expect(lambda.inFlight).toBe(0);
    } finally {
      server.close();
    }
  });

  it("holds a function with reserved concurrency to it, and takes the reservation out of the region's pool", async () => {
    // Limit 3, one reserved for `reserved`: the other functions share 2, even while it is idle.
    const lambda = limitedService(3, [fn('probe'), fn('reserved', 1)]);
    expect(lambda.unreservedConcurrency).toBe(2);
    const server = await holdingServer();
    try {
      const held = [
        lambda.invoke('probe', { mode: 'fetch', url: server.url }),
        lambda.invoke('probe', { mode: 'fetch', url: server.url }),
      ];
      expect(lambda.inFlight).toBe(2);
      await expect(lambda.invoke('probe', { mode: 'env' })).rejects.toMatchObject({
        errorType: 'TooManyRequestsException',
        reason: 'ConcurrentInvocationLimitExceeded',
      });
      // The reservation is the function's own: it runs while the pool is used up...
      held.push(lambda.invoke('reserved', { mode: 'fetch', url: server.url }));
      expect(lambda.inFlight).toBe(3);
      // ...but never more than its reservation at once.
      await expect(lambda.invoke('reserved', { mode: 'env' })).rejects.toMatchObject({
        errorType: 'TooManyRequestsException',
        reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      });
      await expect.poll(() => server.held.length).toBe(3);
      for (const res of server.held) res.end('done');
      await Promise.all(held);
      expect(lambda.inFlight).toBe(0);
    } finally {
      server.close();
    }
  });

  it('refuses reservations the limit cannot hold', () => {
    expect(
      () =>
        new LambdaService({
          region: 'ap-south-1',
          functions: [fn('probe', 2), fn('reserved', 2)],
          baseEnvironment: {},
          workerFile: probeBundles.worker,
          bundles: {},
          log: () => undefined,
          concurrencyLimit: 3,
        }),
    ).toThrow(/reserve 4 concurrent executions, over the limit of 3/);
  });
});
