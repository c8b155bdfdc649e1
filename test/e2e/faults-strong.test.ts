/**
 * Strong mode on the local stack: every region's handlers read and write one table (the
 * primary's), as multi-Region strong consistency gives every replica one state. Concurrent sends
 * to one room in both regions get one gap-free `global` sequence, and every member receives
 * every message.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { connect, eventually, type Frame, startTestStack, type TestClient, urlFor } from './helpers.js';

let stack: LocalStack;
const clients: TestClient[] = [];
const ROOM = 'strong';
const PER_CLIENT = 8;

beforeAll(async () => {
  stack = await startTestStack({
    context: { regions: 'us-east-1,us-east-2', witnessRegion: 'us-west-2', consistency: 'strong' },
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Strong mode', () => {
  it('gives concurrent sends in two regions one gap-free global sequence, delivered to everyone once', async () => {
    expect(stack.consistency).toBe('strong');
    const regions = stack.regions.map((r) => r.name);
    for (const region of regions) {
      for (const user of ['a', 'b']) {
        const client = await connect(
          await urlFor(stack, stack.endpoints.regions[region] as string, `${user}-${region}`),
        );
        clients.push(client);
        expect(await client.request({ action: 'join', room: ROOM })).toMatchObject({ type: 'joined' });
      }
    }
    const acks = (
      await Promise.all(
        clients.map(async (client, c) => {
          const out: { id: string; origin: string; seq: number }[] = [];
          for (let i = 0; i < PER_CLIENT; i++) {
            const id = `s-${c}-${i}`;
            const ack = await client.request({ action: 'send', room: ROOM, id, body: { c, i } }, 20_000);
            expect(ack).toMatchObject({ type: 'ack', id, origin: 'global' });
            out.push({ id, origin: ack.origin as string, seq: ack.seq as number });
          }
          return out;
        }),
      )
    ).flat();
    const total = clients.length * PER_CLIENT;
    expect(acks.map((a) => a.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );

    // Every member (in either region) receives every message once.
    for (const client of clients) {
      const messages = await eventually(async () => {
        const got = client.frames.filter((f: Frame) => f.type === 'message' && f.room === ROOM);
        return got.length >= total ? got : undefined;
      }, 30_000);
      expect(messages.map((m) => m.id).sort()).toEqual(acks.map((a) => a.id).sort());
      // Frames may arrive out of order (inline delivery and fan-out race); the SDK orders them.
      expect(messages.map((m) => m.seq as number).sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }

    // The one table holds one message per slot: MSG#global#1..total.
    const page = await stack.dynamoDb(regions[0] as string).send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        ExpressionAttributeValues: { ':pk': { S: `ROOM#${ROOM}` }, ':msg': { S: 'MSG#' } },
        ConsistentRead: true,
      }),
    );
    expect((page.Items ?? []).map((item) => item.sk?.S)).toEqual(
      Array.from({ length: total }, (_, i) => `MSG#global#${String(i + 1).padStart(12, '0')}`),
    );
  });
});
