/**
 * One design (Parley or the scan-and-broadcast baseline) on one local stack, measured at growing
 * numbers of open connections: publish-to-receive latency, fan-out throughput per room size, and
 * the cost of a 10-member room in two regions. Connections are only ever added, so each level
 * reuses the previous one's; rooms are set up once, by writing the items the `join` handler
 * writes (joining 1,000 members one by one would announce each to every member before it:
 * O(n^2) presence frames).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../lambdas/shared/clients.js';
import { CONNECTION_TTL_SECONDS, keys } from '../lambdas/shared/repository.js';
import { retry, sleep } from '../lambdas/shared/retry.js';
import type { LocalStack } from '../local/stack.js';
import { localJwtSecret } from '../local/token.js';
import { type BenchSocket, type Frame, openMany } from './clients.js';
import { type Design, note, onExit, ROOT, startBenchStack, waitFor } from './harness.js';
import type { OpenRequest } from './idle-connections.js';
import { price, type Usage } from './prices.js';
import { type Figure, figure, percentile } from './stats.js';

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

/** p50/p95/p99 (ms), each over the runs. */
export interface LatencyFigures {
  p50: Figure;
  p95: Figure;
  p99: Figure;
  samples: number;
}

export interface LatencyResult {
  sameRegion: LatencyFigures;
  crossRegion: LatencyFigures;
  globalEndpoint: LatencyFigures;
}

/** Cost per message of one run, by part, and the usage it was priced from. */
export interface CostRun {
  usage: Usage;
  usd: Record<string, number>;
}

export interface CostResult {
  /** US dollars per million messages. */
  perMillion: Figure;
  /** The median run's usage and prices, per message. */
  median: CostRun;
  messages: number;
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

const ROOM = (size: number): string => `bench-${size}`;
const LATENCY_ROOM = 'bench-latency';
const COST_ROOM = 'bench-cost';
/** Sockets of the second region: the cross-region receiver and half the cost room. */
const SECOND_REGION_SOCKETS = 10;
/** Members of the cost room per region. */
const COST_MEMBERS_PER_REGION = 5;

const noop = (): void => undefined;

/** The child process that holds the idle connections (see `idle-connections.ts`). */
interface IdleHolder {
  open(endpoint: string, users: string[], concurrency: number): Promise<number>;
  /** Kills the child: the kernel resets its connections at once, no close handshakes. */
  kill(): void;
}

const startIdleHolder = (): IdleHolder => {
  const child: ChildProcess = fork(join(ROOT, 'bench', 'idle-connections.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const off = onExit(async () => kill());
  let requests = 0;
  return {
    open: (endpoint, users, concurrency) =>
      new Promise((resolve, reject) => {
        const id = ++requests;
        const onMessage = (message: { type: string; id: number; count?: number; message?: string }): void => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          if (message.type === 'opened') resolve(message.count ?? 0);
          else reject(new Error(`idle connections: ${message.message ?? 'failed'}`));
        };
        child.on('message', onMessage);
        const request: OpenRequest = {
          type: 'open',
          id,
          endpoint,
          users,
          concurrency,
          jwtSecret: localJwtSecret(),
        };
        child.send(request);
      }),
    kill: () => {
      off();
      kill();
    },
  };
};

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

interface Layout {
  first: BenchSocket[];
  second: BenchSocket[];
  global: BenchSocket[];
  /** user -> connection id. */
  ids: Map<string, string>;
}

const measure = async (
  stack: LocalStack,
  design: Design,
  plan: DesignPlan,
  idle: IdleHolder,
): Promise<DesignResult> => {
  const [first, second] = stack.regions;
  if (!first || !second) throw new Error('the bench needs two regions');
  const layout: Layout = { first: [], second: [], global: [], ids: new Map() };
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

/** Finds every connection's id (by user) and writes the rooms' memberships. */
const setUpRooms = async (stack: LocalStack, layout: Layout, plan: DesignPlan): Promise<void> => {
  await waitFor(() => stack.replicationIdle(), 30_000);
  for (const region of stack.regions) {
    const db = documentClient(stack.dynamoDb(region.name));
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: 'sk = :meta AND #region = :region',
          ExpressionAttributeNames: { '#region': 'region' },
          ExpressionAttributeValues: { ':meta': 'META', ':region': region.name },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        layout.ids.set(String(item.user), String(item.pk).slice('CONN#'.length));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
  const [first, second] = stack.regions.map((r) => r.name) as [string, string];
  const memberships: { region: string; socket: BenchSocket; room: string }[] = [];
  const sizes = new Set(plan.fanout.flatMap((f) => f.roomSizes));
  for (const size of sizes) {
    for (const socket of layout.first.slice(0, size))
      memberships.push({ region: first, socket, room: ROOM(size) });
  }
  const latencyMembers: [BenchSocket | undefined, string][] = [
    [layout.first[0], first],
    [layout.first[1], first],
    [layout.second[0], second],
    [layout.global[0], first],
    [layout.global[1], first],
  ];
  for (const [socket, region] of latencyMembers) {
    if (socket) memberships.push({ region, socket, room: LATENCY_ROOM });
  }
  for (const socket of layout.first.slice(0, COST_MEMBERS_PER_REGION))
    memberships.push({ region: first, socket, room: COST_ROOM });
  for (const socket of layout.second.slice(0, COST_MEMBERS_PER_REGION))
    memberships.push({ region: second, socket, room: COST_ROOM });

  const now = Date.now();
  const ttl = Math.floor(now / 1000) + CONNECTION_TTL_SECONDS;
  const byRegion = new Map<string, Record<string, unknown>[]>();
  for (const { region, socket, room } of memberships) {
    const connectionId = layout.ids.get(socket.user);
    if (connectionId === undefined) throw new Error(`no connection item for ${socket.user}`);
    const items = byRegion.get(region) ?? [];
    items.push(
      {
        ...keys.roomMember(room, region, connectionId),
        room,
        user: socket.user,
        region,
        connectionId,
        joinedAt: now,
        ttl,
      },
      { ...keys.connectionRoom(connectionId, room), room, ttl },
    );
    byRegion.set(region, items);
  }
  for (const [region, items] of byRegion) {
    const db = documentClient(stack.dynamoDb(region));
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const answer = await db.send(
          new BatchWriteCommand({ RequestItems: { [stack.tableName]: requests } }),
        );
        requests = (answer.UnprocessedItems?.[stack.tableName] ?? []) as typeof requests;
      }
    }
  }
  // The other regions' fan-out announces the new members (presence); let that pass.
  await waitFor(() => stack.replicationIdle(), 60_000);
  await sleep(2_000);
};

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
const measureLatency = async (layout: Layout, plan: DesignPlan): Promise<LatencyResult> => {
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

/** A send answered `rate_limited`: sent again, with the same id. */
class RateLimited extends Error {}

/**
 * Fan-out throughput: one member publishes `messages`, each as soon as the previous one is
 * acknowledged (both designs acknowledge before they deliver, so deliveries overlap the next
 * sends; a `rate_limited` answer is retried with the same id, as the SDK does); deliveries per
 * second from the first send to the last delivery (or to the end of the budget, counting what
 * arrived). One publisher, because Parley orders a room's messages: concurrent sends to one room
 * contend for its sequence counter, which would measure that contention rather than fan-out.
 */
const measureFanout = async (
  members: BenchSocket[],
  room: string,
  messages: number,
  budgetMs: number,
  tag: string,
): Promise<{ rate: number; delivered: number; missingAfterDrain: number }> => {
  if (members.length === 0) throw new Error('empty room');
  const ids = new Set(Array.from({ length: messages }, (_, i) => `fan-${tag}-${Date.now()}-${i}`));
  const expected = messages * members.length;
  let delivered = 0;
  let last = 0;
  let finish = noop;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  for (const member of members) {
    member.onFrame = (frame, at) => {
      if (frame.type !== 'message' || frame.room !== room || !ids.has(String(frame.id))) return;
      delivered++;
      last = at;
      if (delivered >= expected) finish();
    };
  }
  const started = performance.now();
  const queue = [...ids];
  const publish = async (from: BenchSocket): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      await retry(
        async () => {
          const reply = await from
            .request({ action: 'send', room, id, body: { text: 'fan-out probe' } }, budgetMs)
            .catch(() => undefined);
          if (reply?.type === 'error' && reply.code === 'rate_limited') throw new RateLimited();
        },
        {
          attempts: 20,
          retryable: (error) => error instanceof RateLimited,
          delayMs: () => 10 + Math.random() * 20,
        },
      ).catch((error: unknown) => {
        // Still limited after every attempt: the message is given up, as before, and counts as missing.
        if (!(error instanceof RateLimited)) throw error;
      });
    }
  };
  void publish(members[0] as BenchSocket);
  const timer = setTimeout(finish, budgetMs);
  await done;
  clearTimeout(timer);
  const complete = delivered >= expected;
  const elapsed = complete ? last - started : performance.now() - started;
  const counted = delivered;
  // A design that did not finish in time still has work queued: let it drain (uncounted), so the
  // next run does not start behind it.
  if (!complete) await waitFor(() => delivered >= expected, DRAIN_MS, 100);
  for (const member of members) member.onFrame = noop;
  return {
    rate: counted / (elapsed / 1000),
    delivered: counted,
    missingAfterDrain: Math.max(0, expected - delivered),
  };
};

/** How long an unfinished fan-out run may drain before the next one starts. */
const DRAIN_MS = 10_000;

/**
 * The cost room's traffic: members of both regions take turns publishing, one message at a time,
 * each waited for at all ten members. Returns the frames API Gateway carried to clients.
 */
const costWindow = async (
  stack: LocalStack,
  layout: Layout,
  messages: number,
  tag: string,
): Promise<number> => {
  const members = [
    ...layout.first.slice(0, COST_MEMBERS_PER_REGION),
    ...layout.second.slice(0, COST_MEMBERS_PER_REGION),
  ];
  let frames = 0;
  const arrivals = new Map<string, number>();
  for (const member of members) {
    member.onFrame = (frame) => {
      frames++;
      if (frame.type === 'message' && frame.room === COST_ROOM) {
        const id = String(frame.id);
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
      }
    };
  }
  const senders = [layout.first[0], layout.second[0]] as BenchSocket[];
  for (let i = 0; i < messages; i++) {
    const id = `cost-${tag}-${Date.now()}-${i}`;
    senders[i % 2]?.send({
      action: 'send',
      room: COST_ROOM,
      id,
      body: { text: 'a chat message of ordinary length' },
    });
    await waitFor(() => (arrivals.get(id) ?? 0) >= members.length, 20_000, 5);
  }
  // The stream fan-out and replication finish after the last delivery the clients see.
  await waitFor(() => stack.replicationIdle(), 20_000);
  await sleep(1_500);
  for (const member of members) member.onFrame = noop;
  return frames;
};

/** Prices one cost window per message. */
const priceRun = (
  stack: LocalStack,
  invocations: { handler: string; durationMs: number; memoryMb: number }[],
  framesOut: number,
  messages: number,
  regions: string[],
): CostRun => {
  const capacity = stack.consumedCapacity();
  let readUnits = 0;
  let writeUnits = 0;
  for (const counts of Object.values(capacity)) {
    readUnits += counts.readUnits;
    writeUnits += counts.writeUnits;
  }
  const perMessage = (value: number): number => value / messages;
  const usage: Usage = {
    readUnits: perMessage(readUnits),
    writeUnits: perMessage(writeUnits),
    // Every write to one replica is replicated to each of the others.
    replicatedWriteUnits: perMessage(writeUnits * (regions.length - 1)),
    lambdaRequests: perMessage(invocations.length),
    // Billed in whole milliseconds.
    lambdaGbSeconds: perMessage(
      invocations.reduce((sum, i) => sum + (Math.ceil(i.durationMs) / 1000) * (i.memoryMb / 1024), 0),
    ),
    // The sends in, and every frame out (acks, messages, presence).
    apiGatewayMessages: perMessage(messages + framesOut),
    // Workload assumption: on average every open connection publishes one message a minute.
    connectionMinutes: 1,
  };
  return { usage, usd: price(usage) };
};
