/**
 * One design (Parley or the scan-and-broadcast baseline) on one local stack, measured at growing
 * numbers of open connections: publish-to-receive latency (`latency.ts`), fan-out throughput per
 * room size (`fanout.ts`), and the cost of a 10-member room in two regions (`cost.ts`).
 * Connections are only ever added, so each level reuses the previous one's; rooms are set up
 * once, by writing the items the `join` handler writes (`seed-rooms.ts`).
 */
import { sleep } from '../lambdas/shared/retry.js';
import type { LocalStack } from '../local/stack.js';
import { type BenchSocket, openMany } from './clients.js';
import { type CostResult, type CostRun, costWindow, priceRun } from './cost.js';
import { DRAIN_MS, measureFanout } from './fanout.js';
import { type Design, note, startBenchStack, waitFor } from './harness.js';
import { type IdleHolder, startIdleHolder } from './idle-holder.js';
import { type LatencyResult, measureLatency } from './latency.js';
import {
  COST_MEMBERS_PER_REGION,
  COST_ROOM,
  LATENCY_ROOM,
  type Layout,
  ROOM,
  SECOND_REGION_SOCKETS,
} from './layout.js';
import { type RoomMembership, seedRooms } from './seed-rooms.js';
import { type Figure, figure, percentile } from './stats.js';

export type { CostResult, CostRun } from './cost.js';
export type { LatencyFigures, LatencyResult } from './latency.js';

/** What to measure, and how much. */
export interface DesignPlan {
  /** Total open connections at each level, ascending. */
  levels: number[];
  /** Levels with the latency measure. */
  latencyLevels: number[];
  /** Levels with fan-out throughput, and the room sizes measured at each. */
  fanout: { level: number; roomSizes: number[] }[];
  /** Levels with the cost measure. */
  costLevels: number[];
  runs: number;
  latencyMessages: number;
  /** Messages per fan-out run, by room size. */
  fanoutMessages: Record<number, number>;
  costMessages: number;
  /** Longest a latency run may take (ms); a slow design measures fewer messages. */
  runBudgetMs: number;
  /** Longest a fan-out run may take (ms); what arrived by then counts. */
  fanoutBudgetMs: number;
  connectConcurrency: number;
}

/** Everything measured at one level. */
export interface LevelResult {
  /** Connections open while measuring (the level, plus the few latency/cost sockets). */
  connections: number;
  connectSeconds: number;
  latency?: LatencyResult;
  /**
   * Deliveries per second, by room size; per run, the deliveries counted within the budget and
   * those still missing after the drain (never seen by the members: lost, or slower than both).
   */
  fanout?: Record<string, Figure & { deliveries: number[]; missingAfterDrain: number[] }>;
  cost?: CostResult;
}

export interface DesignResult {
  design: Design;
  levels: Record<string, LevelResult>;
}

/** Measures `design` following `plan`; starts and stops its own stack. */
export const runDesign = async (design: Design, plan: DesignPlan): Promise<DesignResult> => {
  note(`${design}: starting the local stack`);
  const stack = await startBenchStack(design);
  const idle = startIdleHolder();
  try {
    return await measure(stack, design, plan, idle);
  } finally {
    note(`${design}: stopping the local stack`);
    // Idle connections go first, reset by the kernel, so the stack has few connections to close.
    idle.kill();
    await sleep(500);
    await stack.stop();
  }
};

const measure = async (
  stack: LocalStack,
  design: Design,
  plan: DesignPlan,
  idle: IdleHolder,
): Promise<DesignResult> => {
  const [first, second] = stack.regions;
  if (!first || !second) throw new Error('the bench needs two regions');
  const layout: Layout = { first: [], second: [], global: [] };
  const invocations: { handler: string; durationMs: number; memoryMb: number }[] = [];
  let recording = false;
  stack.onInvocation((record) => {
    // A throttled invocation never ran and Lambda does not bill it.
    if (recording && record.handler !== 'health' && !record.throttled) {
      invocations.push({
        handler: record.handler,
        durationMs: record.durationMs ?? 0,
        memoryMb: record.memoryMb ?? 128,
      });
    }
  });
  const open = async (endpoint: string, prefix: string, from: number, count: number) =>
    openMany(
      count,
      async (i) => {
        const user = `${prefix}${from + i}`;
        return { url: `${endpoint}?token=${await stack.token(user)}`, user };
      },
      plan.connectConcurrency,
    );
  let idleCount = 0;
  const total = (): number => layout.first.length + layout.second.length + layout.global.length + idleCount;
  const largestRoom = Math.max(10, ...plan.fanout.flatMap((f) => f.roomSizes));
  const result: DesignResult = { design, levels: {} };

  for (const [index, level] of plan.levels.entries()) {
    const started = performance.now();
    if (index === 0) {
      // The rooms' members first (all in the first region), then the few other sockets.
      const firstCount = Math.max(largestRoom, level - SECOND_REGION_SOCKETS - 2);
      layout.first.push(...(await open(first.endpoint, 'a', 0, firstCount)));
      layout.second.push(...(await open(second.endpoint, 'b', 0, SECOND_REGION_SOCKETS)));
      layout.global.push(...(await open(stack.endpoints.global, 'g', 0, 2)));
      await setUpRooms(stack, layout, plan);
    } else {
      // Idle connections, held by a child process (open files per process are limited), split
      // between the regions (two gateways and two Lambda threads open them).
      const missing = Math.max(0, level - total());
      const toFirst = Math.ceil(missing / 2);
      const users = (prefix: string, count: number): string[] =>
        Array.from({ length: count }, (_, i) => `${prefix}${idleCount + i}`);
      const opened = await Promise.all([
        idle.open(first.endpoint, users('ia', toFirst), plan.connectConcurrency),
        idle.open(second.endpoint, users('ib', missing - toFirst), plan.connectConcurrency),
      ]);
      idleCount += opened[0] + opened[1];
    }
    const connectSeconds = (performance.now() - started) / 1000;
    note(`${design}: ${total()} connections open (${connectSeconds.toFixed(1)} s)`);
    await waitFor(() => stack.replicationIdle(), 30_000);
    await sleep(1_000);
    const levelResult: LevelResult = { connections: total(), connectSeconds };
    result.levels[String(level)] = levelResult;

    if (plan.latencyLevels.includes(level)) {
      levelResult.latency = await measureLatency(layout, plan);
      note(
        `${design} @${total()}: latency p50 same ${levelResult.latency.sameRegion.p50.median.toFixed(1)} ms, cross ${levelResult.latency.crossRegion.p50.median.toFixed(1)} ms, global ${levelResult.latency.globalEndpoint.p50.median.toFixed(1)} ms`,
      );
    }
    const fanout = plan.fanout.find((f) => f.level === level);
    if (fanout) {
      levelResult.fanout = {};
      for (const size of fanout.roomSizes) {
        const runs: number[] = [];
        const deliveries: number[] = [];
        const missingAfterDrain: number[] = [];
        for (let run = 0; run < plan.runs; run++) {
          const outcome = await measureFanout(
            layout.first.slice(0, size),
            ROOM(size),
            plan.fanoutMessages[size] ?? 5,
            plan.fanoutBudgetMs,
            `${level}-${run}`,
          );
          runs.push(outcome.rate);
          deliveries.push(outcome.delivered);
          missingAfterDrain.push(outcome.missingAfterDrain);
          await waitFor(() => stack.replicationIdle(), 10_000);
          await sleep(300);
        }
        levelResult.fanout[String(size)] = { ...figure(runs), deliveries, missingAfterDrain };
        const missing = missingAfterDrain.reduce((sum, n) => sum + n, 0);
        note(
          `${design} @${total()}: room of ${size}: ${figure(runs).median.toFixed(0)} deliveries/s${missing > 0 ? `; ${missing} deliveries not seen after the ${DRAIN_MS / 1000} s drain` : ''}`,
        );
      }
    }
    if (plan.costLevels.includes(level)) {
      const runs: CostRun[] = [];
      for (let run = 0; run < plan.runs; run++) {
        await waitFor(() => stack.replicationIdle(), 10_000);
        await sleep(1_500);
        stack.resetConsumedCapacity();
        invocations.length = 0;
        recording = true;
        const frames = await costWindow(stack, layout, plan.costMessages, `${level}-${run}`);
        recording = false;
        runs.push(
          priceRun(
            stack,
            invocations,
            frames,
            plan.costMessages,
            stack.regions.map((r) => r.name),
          ),
        );
      }
      const totals = runs.map((run) => (run.usd.total ?? 0) * 1e6);
      // The run whose total is the middle one (the lower middle for an even count).
      const medianTotal = percentile(totals, 50);
      const median = runs[totals.indexOf(medianTotal)] ?? (runs[0] as CostRun);
      levelResult.cost = { perMillion: figure(totals), median, messages: plan.costMessages };
      note(`${design} @${total()}: cost $${medianTotal.toFixed(2)} per million messages`);
    }
  }
  return result;
};

/** Writes the rooms' memberships: the fan-out rooms, the latency room and the cost room. */
const setUpRooms = async (stack: LocalStack, layout: Layout, plan: DesignPlan): Promise<void> => {
  await waitFor(() => stack.replicationIdle(), 30_000);
  const [first, second] = stack.regions.map((r) => r.name) as [string, string];
  const memberships: RoomMembership[] = [];
  const sizes = new Set(plan.fanout.flatMap((f) => f.roomSizes));
  for (const size of sizes) {
    for (const socket of layout.first.slice(0, size))
      memberships.push({ region: first, user: socket.user, room: ROOM(size) });
  }
  const latencyMembers: [BenchSocket | undefined, string][] = [
    [layout.first[0], first],
    [layout.first[1], first],
    [layout.second[0], second],
    [layout.global[0], first],
    [layout.global[1], first],
  ];
  for (const [socket, region] of latencyMembers) {
    if (socket) memberships.push({ region, user: socket.user, room: LATENCY_ROOM });
  }
  for (const socket of layout.first.slice(0, COST_MEMBERS_PER_REGION))
    memberships.push({ region: first, user: socket.user, room: COST_ROOM });
  for (const socket of layout.second.slice(0, COST_MEMBERS_PER_REGION))
    memberships.push({ region: second, user: socket.user, room: COST_ROOM });
  await seedRooms(stack, memberships);
  // The other regions' fan-out announces the new members (presence); let that pass.
  await waitFor(() => stack.replicationIdle(), 60_000);
  await sleep(2_000);
};
