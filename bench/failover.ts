/**
 * Failover time in the local stack: from the start of an outage of the primary region to the first
 * message delivered to a client that failed over, (a) through the global endpoint (which plays
 * Route 53 with the local stack's health checks: every 1 s, 2 failures) and (b) through the SDK's
 * client-side failover over the two regional endpoints. A member of the other region publishes
 * every 100 ms throughout.
 */
import { ParleyClient } from '../client/index.js';
import { sleep } from '../lambdas/shared/retry.js';
import type { LocalStack } from '../local/stack.js';
import { type BenchSocket, closeAll, openSocket } from './clients.js';
import { note, startBenchStack } from './harness.js';
import { type Figure, figure } from './stats.js';

export interface FailoverResult {
  globalEndpointMs: Figure;
  clientSideMs: Figure;
}

const ROOM = 'bench-failover';

/** Connects an SDK client and joins the room; resolves once joined. */
const joinedClient = async (stack: LocalStack, endpoints: string[], user: string): Promise<ParleyClient> => {
  const token = await stack.token(user);
  const client = new ParleyClient({ endpoints, token });
  await client.join(ROOM);
  return client;
};

/** Resolves with the time (performance.now) of the first message after the client reopened. */
const firstMessageAfterReopen = (client: ParleyClient, since: number, timeoutMs: number): Promise<number> =>
  new Promise((resolve) => {
    let reopened = false;
    const offs: (() => void)[] = [];
    const finish = (at: number): void => {
      for (const off of offs) off();
      clearTimeout(timer);
      resolve(at);
    };
    const timer = setTimeout(() => finish(Number.NaN), timeoutMs);
    offs.push(
      client.on('state', (state) => {
        if (state.state === 'open' && performance.now() > since) reopened = true;
      }),
      client.on('message', () => {
        if (reopened) finish(performance.now());
      }),
    );
  });

/** Measures both kinds of failover `runs` times on a stack of its own. */
export const runFailover = async (runs: number): Promise<FailoverResult> => {
  note('failover: starting the local stack');
  const stack = await startBenchStack('parley');
  const sockets: BenchSocket[] = [];
  const clients: ParleyClient[] = [];
  let publishing: ReturnType<typeof setInterval> | undefined;
  try {
    const [primary, secondary] = stack.regions;
    if (!primary || !secondary) throw new Error('two regions needed');
    const publisher = await openSocket(
      `${secondary.endpoint}?token=${await stack.token('publisher')}`,
      'publisher',
    );
    sockets.push(publisher);
    await publisher.request({ action: 'join', room: ROOM });
    let n = 0;
    publishing = setInterval(() => {
      publisher.send({ action: 'send', room: ROOM, id: `fo-${Date.now()}-${n++}`, body: { n } });
    }, 100);
    const viaGlobal: number[] = [];
    const clientSide: number[] = [];
    for (let run = 0; run < runs; run++) {
      const global = await joinedClient(stack, [stack.endpoints.global], `global-${run}`);
      const sdk = await joinedClient(stack, [primary.endpoint, secondary.endpoint], `sdk-${run}`);
      clients.push(global, sdk);
      await sleep(500);
      const outageAt = performance.now();
      const globalDone = firstMessageAfterReopen(global, outageAt, 60_000);
      const sdkDone = firstMessageAfterReopen(sdk, outageAt, 60_000);
      await stack.setOutage(primary.name, true);
      const [globalAt, sdkAt] = await Promise.all([globalDone, sdkDone]);
      viaGlobal.push(globalAt - outageAt);
      clientSide.push(sdkAt - outageAt);
      note(
        `failover run ${run + 1}: global endpoint ${(globalAt - outageAt).toFixed(0)} ms, SDK ${(sdkAt - outageAt).toFixed(0)} ms`,
      );
      for (const client of clients.splice(0)) client.close();
      await stack.setOutage(primary.name, false);
      // The global endpoint routes to the primary again once its health checks pass.
      await sleep(3_000);
    }
    return { globalEndpointMs: figure(viaGlobal), clientSideMs: figure(clientSide) };
  } finally {
    if (publishing) clearInterval(publishing);
    for (const client of clients) client.close();
    closeAll(sockets);
    await stack.stop();
  }
};
