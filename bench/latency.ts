/**
 * Publish-to-receive latency in the latency room: same region, cross region, and through the
 * global endpoint, each as p50/p95/p99 over the runs.
 */
import type { BenchSocket, Frame } from './clients.js';
import { waitFor } from './harness.js';
import { LATENCY_ROOM, type Layout, noop } from './layout.js';
import { type Figure, figure, percentile } from './stats.js';

/** p50/p95/p99 (ms), each over the runs. */
export interface LatencyFigures {
  p50: Figure;
  p95: Figure;
  p99: Figure;
  samples: number;
}

/** The three latencies of one level. */
export interface LatencyResult {
  sameRegion: LatencyFigures;
  crossRegion: LatencyFigures;
  globalEndpoint: LatencyFigures;
}

const latencyFigures = (runs: number[][]): LatencyFigures => ({
  p50: figure(runs.map((samples) => percentile(samples, 50))),
  p95: figure(runs.map((samples) => percentile(samples, 95))),
  p99: figure(runs.map((samples) => percentile(samples, 99))),
  samples: runs.reduce((sum, samples) => sum + samples.length, 0),
});

/**
 * Publish-to-receive latency in the latency room. One message at a time from a sender in the
 * first region: the next goes when a receiver in the same region has it, so the figures are of an
 * unloaded system; a receiver in the second region records the same messages (cross region).
 * Then the same through the global endpoint, sender and receiver both connected through it.
 */
export const measureLatency = async (
  layout: Layout,
  plan: { runs: number; latencyMessages: number; runBudgetMs: number },
): Promise<LatencyResult> => {
  const [sender, sameReceiver] = layout.first;
  const crossReceiver = layout.second[0];
  const [globalSender, globalReceiver] = layout.global;
  if (!sender || !sameReceiver || !crossReceiver || !globalSender || !globalReceiver)
    throw new Error('latency sockets missing');
  const runs = { same: [] as number[][], cross: [] as number[][], global: [] as number[][] };
  for (let run = 0; run < plan.runs; run++) {
    const samples = { same: [] as number[], cross: [] as number[], global: [] as number[] };
    const sentAt = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const receiver =
      (kind: keyof typeof samples) =>
      (frame: Frame, at: number): void => {
        if (frame.type !== 'message' || frame.room !== LATENCY_ROOM) return;
        const id = String(frame.id);
        const sent = sentAt.get(id);
        if (sent === undefined) return;
        samples[kind].push(at - sent);
        waiters.get(`${kind}:${id}`)?.();
      };
    sameReceiver.onFrame = receiver('same');
    crossReceiver.onFrame = receiver('cross');
    globalReceiver.onFrame = receiver('global');
    const publish = (from: BenchSocket, kind: keyof typeof samples, id: string): Promise<void> =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 15_000);
        waiters.set(`${kind}:${id}`, () => {
          clearTimeout(timer);
          resolve();
        });
        sentAt.set(id, performance.now());
        from.send({ action: 'send', room: LATENCY_ROOM, id, body: { text: 'latency probe' } });
      });
    const deadline = performance.now() + plan.runBudgetMs;
    for (let i = 0; i < plan.latencyMessages && (i < 3 || performance.now() < deadline); i++) {
      await publish(sender, 'same', `lat-${Date.now()}-${run}-${i}`);
      await publish(globalSender, 'global', `glat-${Date.now()}-${run}-${i}`);
    }
    // Cross-region deliveries are not waited for one by one; give the last ones time to arrive.
    await waitFor(() => samples.cross.length >= samples.same.length, 10_000);
    runs.same.push(samples.same);
    runs.cross.push(samples.cross);
    runs.global.push(samples.global);
  }
  sameReceiver.onFrame = noop;
  crossReceiver.onFrame = noop;
  globalReceiver.onFrame = noop;
  return {
    sameRegion: latencyFigures(runs.same),
    crossRegion: latencyFigures(runs.cross),
    globalEndpoint: latencyFigures(runs.global),
  };
};
