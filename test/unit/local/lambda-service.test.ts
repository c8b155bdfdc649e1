/**
 * The local Lambda service with real worker threads and an esbuild bundle: each region's handlers
 * see that region's environment only (module state included), errors and timeouts fail the
 * invocation, and a fault hook fails it without running the handler.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntries } from '../../../local/bundle.js';
import { LambdaInvokeError, LambdaService } from '../../../local/lambda-service.js';

const root = join(import.meta.dirname, '..', '..', '..');
const services: LambdaService[] = [];
let east: LambdaService;
let west: LambdaService;

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
