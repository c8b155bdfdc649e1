/**
 * Per-origin sequences under slow replication: clients in both regions send to one room at the
 * same time while every replication link lags. Each region numbers only its own messages, so each
 * origin's seqs are gap-free from 1, and once replication catches up both replicas hold every
 * message once, under the (origin, seq) it was acknowledged with: last writer wins never
 * overwrites a message.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { connect, eventually, startTestStack, type TestClient, urlFor } from './helpers.js';

let stack: LocalStack;
const clients: TestClient[] = [];
const ROOM = 'lagged';
const PER_CLIENT = 10;

/** The stored messages of the room in a region's replica: sort key -> id. */
const stored = async (region: string): Promise<Map<string, string>> => {
  const out = new Map<string, string>();
  const page = await stack.dynamoDb(region).send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
      ExpressionAttributeValues: { ':pk': { S: `ROOM#${ROOM}` }, ':msg': { S: 'MSG#' } },
      ConsistentRead: true,
    }),
  );
  for (const item of page.Items ?? []) out.set(item.sk?.S ?? '', item.id?.S ?? '');
  return out;
};

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Per-origin sequences under slow replication', () => {
  it('numbers each origin gap-free from 1 and stores every message once in both regions', async () => {
    const regions = stack.regions.map((r) => r.name);
    for (const region of regions) {
      for (const user of ['a', 'b', 'c']) {
        const client = await connect(
          await urlFor(stack, stack.endpoints.regions[region] as string, `${user}-${region}`),
        );
        clients.push(client);
        expect(await client.request({ action: 'join', room: ROOM })).toMatchObject({ type: 'joined' });
      }
    }
    // Every write waits 1.5 s before it reaches the other region: each region assigns seqs while
    // the other region's concurrent messages are still in flight.
    await stack.injectFaults({ replication: { lagMs: 1_500 } });
    const acks = (
      await Promise.all(
        clients.map(async (client, c) => {
          const out: { id: string; origin: string; seq: number }[] = [];
          for (let i = 0; i < PER_CLIENT; i++) {
            const id = `m-${c}-${i}`;
            const ack = await client.request({ action: 'send', room: ROOM, id, body: { c, i } }, 20_000);
            expect(ack).toMatchObject({ type: 'ack', id });
            out.push({ id, origin: ack.origin as string, seq: ack.seq as number });
          }
          return out;
        }),
      )
    ).flat();

    for (const region of regions) {
      const seqs = acks
        .filter((a) => a.origin === region)
        .map((a) => a.seq)
        .sort((x, y) => x - y);
      // Three clients per region, each acked in its own region: 30 seqs, 1..30, no gap, no repeat.
      expect(seqs).toEqual(Array.from({ length: 3 * PER_CLIENT }, (_, i) => i + 1));
    }

    stack.clearFaults();
    const expected = new Map(
      acks.map((a) => [`MSG#${a.origin}#${String(a.seq).padStart(12, '0')}`, a.id] as const),
    );
    for (const region of regions) {
      const items = await eventually(async () => {
        const found = await stored(region);
        return found.size >= expected.size ? found : undefined;
      }, 30_000);
      expect(items).toEqual(expected);
    }
  });
});
