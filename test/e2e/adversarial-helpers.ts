/**
 * Helpers of the adversarial end-to-end files (`adversarial-frames.test.ts`,
 * `adversarial-rooms.test.ts`): what a hostile client's frame left in a region's table, the raw
 * text of the frames a client receives (to measure a reply), tokens with any claims, and the check
 * that a refused frame left the service working.
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { documentClient } from '../../lambdas/shared/clients.js';
import type { Db } from '../../lambdas/shared/store/db.js';
import { keys, parseOpenEntry, partitions } from '../../lambdas/shared/store/keys.js';
import type { LocalStack } from '../../local/stack.js';
import { connect, eventually, type Frame, isType, type TestClient } from './helpers.js';

/** API Gateway's largest message, and the protocol's largest reply (128 KiB of JSON text). */
export const MAX_REPLY_BYTES = 128 * 1024;

/** The store's view of a region's replica, for the seeding helpers of `lambdas/shared/store/seeding.ts`. */
export const dbOf = (stack: LocalStack, region: string): Db => ({
  client: documentClient(stack.dynamoDb(region)),
  table: stack.tableName,
});

/** Every item of partition `pk` whose sort key begins with `prefix`, in a region's replica (strongly consistent). */
export const itemsOf = async (
  stack: LocalStack,
  region: string,
  pk: string,
  prefix = '',
): Promise<Record<string, unknown>[]> => {
  const { client, table } = dbOf(stack, region);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        ...(prefix === ''
          ? { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }
          : {
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
              ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
            }),
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
};

/** How many pages a `Query` of a region's replica reads (the store's own queries read as many). */
export const queryPages = async (
  stack: LocalStack,
  region: string,
  input: Omit<QueryCommandInput, 'TableName'>,
): Promise<number> => {
  const { client, table } = dbOf(stack, region);
  let pages = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({ ...input, TableName: table, ExclusiveStartKey: start }),
    );
    pages++;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return pages;
};

/** The ids of a user's open connections in a region, from its open-connections item. */
export const connectionIdsOf = async (stack: LocalStack, region: string, user: string): Promise<string[]> => {
  const [open] = await itemsOf(stack, region, partitions.user(user), keys.userOpen(user, region).sk);
  return [...((open?.conns as Set<string> | undefined) ?? [])].map(
    (entry) => parseOpenEntry(entry).connectionId,
  );
};

/** The one open connection of a user in a region (fails when it has none or several). */
export const connectionIdOf = async (stack: LocalStack, region: string, user: string): Promise<string> => {
  const ids = await connectionIdsOf(stack, region, user);
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};

/** Records the raw text of every frame `client` receives from now on, to measure replies. */
export const rawFrames = (client: TestClient): string[] => {
  const texts: string[] = [];
  client.ws.on('message', (data) => texts.push(data.toString()));
  return texts;
};

/** The raw frame whose JSON carries `ref` (received so far). */
export const rawReply = (texts: readonly string[], ref: string): string | undefined =>
  texts.find((text) => (JSON.parse(text) as { ref?: string }).ref === ref);

/** Sends one WebSocket message in frames of at most `frameBytes` (ASCII text: one byte a character). */
export const sendInFrames = (client: TestClient, text: string, frameBytes: number): number => {
  let frames = 0;
  for (let start = 0; start < text.length; start += frameBytes) {
    client.ws.send(text.slice(start, start + frameBytes), { fin: start + frameBytes >= text.length });
    frames++;
  }
  return frames;
};

let runs = 0;

/**
 * Sends one frame of `client` (a fresh `ref` added) and resolves once its route's invocation in
 * `region` has ended, so its reply and anything it announced have been posted; with the reply and
 * the handlers of the other invocations that ended in the region meanwhile.
 */
export const runToEnd = async (
  stack: LocalStack,
  region: string,
  client: TestClient,
  handler: string,
  frame: Record<string, unknown>,
): Promise<{ reply: Frame; others: Set<string> }> => {
  const ref = `run-${++runs}`;
  let done = false;
  const others = new Set<string>();
  const off = stack.onInvocation((record) => {
    if (record.region !== region) return;
    const body = (record.event as { body?: unknown }).body;
    if (record.handler === handler && typeof body === 'string' && body.includes(`"${ref}"`)) done = true;
    else others.add(record.handler);
  });
  try {
    client.send({ ...frame, ref });
    const reply = await client.next((f) => f.ref === ref, 30_000);
    await eventually(async () => done);
    return { reply, others };
  } finally {
    off();
  }
};

/** The claims a test token may carry; any left out is absent from the token. */
export interface TokenClaims {
  sub?: string;
  iat?: number;
  exp?: number;
  rooms?: string[];
}

/** An HS256 token with exactly `claims`, signed with `secret` (the stack's `jwtSecret`). */
export const signToken = (secret: string, claims: TokenClaims): Promise<string> =>
  new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Opens test clients on a stack's region endpoints and closes them all at the end. */
export const clientPool = (stack: () => LocalStack) => {
  const open: TestClient[] = [];
  return {
    /** Opens a client of `user` (or with exactly `token`) on `region`'s endpoint. */
    open: async (region: string, user: string, token?: string): Promise<TestClient> => {
      const endpoint = stack().endpoints.regions[region] as string;
      const client = await connect(`${endpoint}?token=${token ?? (await stack().token(user))}`);
      open.push(client);
      return client;
    },
    closeAll: () => Promise.all(open.splice(0).map((client) => client.close().catch(() => undefined))),
  };
};

let marks = 0;

/**
 * The checks after every refused frame: the offending connection still answers a `ping` (once its
 * ping burst allows), and a
 * message `sender` sends to `room` afterwards reaches `member` (another member's connection).
 * Returns the message's id.
 */
export const expectStillServed = async (
  offender: TestClient,
  room: string,
  sender: TestClient,
  member: TestClient,
): Promise<string> => {
  // A flood may have spent the offender's ping burst: a pong within the refill (1 s by default).
  await eventually(async () => (await offender.request({ action: 'ping' })).type === 'pong');
  const id = `served-${++marks}`;
  expect(await sender.request({ action: 'send', room, id, body: 'still served' })).toMatchObject({
    type: 'ack',
    id,
  });
  await member.next(isType('message', (f) => f.room === room && f.id === id));
  return id;
};
