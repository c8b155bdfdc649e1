/**
 * The cost of a 10-member room in two regions: the traffic of one window, and its price per
 * message from the capacity, invocations and frames it used.
 */
import { sleep } from '../lambdas/shared/retry.js';
import type { LocalStack } from '../local/stack.js';
import type { BenchSocket } from './clients.js';
import { waitFor } from './harness.js';
import { COST_MEMBERS_PER_REGION, COST_ROOM, type Layout, noop } from './layout.js';
import { price, type Usage } from './prices.js';
import type { Figure } from './stats.js';

/** Cost per message of one run, by part, and the usage it was priced from. */
export interface CostRun {
  usage: Usage;
  usd: Record<string, number>;
}

/** The cost measure of one level. */
export interface CostResult {
  /** US dollars per million messages. */
  perMillion: Figure;
  /** The median run's usage and prices, per message. */
  median: CostRun;
  messages: number;
}

/**
 * The cost room's traffic: members of both regions take turns publishing, one message at a time,
 * each waited for at all ten members. Returns the frames API Gateway carried to clients.
 */
export const costWindow = async (
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
export const priceRun = (
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
