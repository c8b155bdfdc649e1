/**
 * The wire protocol end to end on the local stack: every action and reply, the error codes the
 * stack produces, refused handshakes, API Gateway's frame limit, and a stale connection cleaned
 * up through a 410. Real WebSocket clients over 127.0.0.1, the real handlers, DynamoDB Local.
 *
 * Error codes: `bad_request`, `forbidden`, `payload_too_large` and `internal` are produced here.
 * `unauthorized` is answered at the handshake (401/403): behind the authorizer every route knows
 * its user. `rate_limited` comes from send contention the handlers retry away, and API Gateway's
 * own throttling answers with its `Too Many Requests` message (test/unit/local/gateway.test.ts);
 * no handler answers `not_found`.
 */

import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import {
  connect,
  eventually,
  type Frame,
  refusedStatus,
  startTestStack,
  type TestClient,
  urlFor,
} from './helpers.js';

let stack: LocalStack;
let primary: string;
let secondary: string;
const clients: TestClient[] = [];

const open = async (user: string, region = primary): Promise<TestClient> => {
  const client = await connect(await urlFor(stack, stack.endpoints.regions[region] as string, user));
  clients.push(client);
  return client;
};

const isType =
  (type: string, extra: (f: Frame) => boolean = () => true) =>
  (f: Frame) =>
    f.type === type && extra(f);

beforeAll(async () => {
  stack = await startTestStack();
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Local stack: actions and replies', () => {
  it('answers ping with pong echoing ref', async () => {
    const alice = await open('alice');
    const pong = await alice.request({ action: 'ping' });
    expect(pong).toMatchObject({ type: 'pong' });
    expect(typeof pong.ts).toBe('number');
  });

  it('joins, sends, acks, delivers, and stores an idempotent retry once', async () => {
    const alice = await open('alice');
    const joined = await alice.request({ action: 'join', room: 'proto-room' });
    expect(joined).toMatchObject({ type: 'joined', room: 'proto-room', cursor: {} });
    expect(joined.members).toEqual([{ user: 'alice', region: primary }]);

    const ack = await alice.request({
      action: 'send',
      room: 'proto-room',
      id: 'm-1',
      body: { text: 'hello' },
    });
    expect(ack).toMatchObject({ type: 'ack', room: 'proto-room', id: 'm-1', origin: primary, seq: 1 });
    const message = await alice.next(isType('message', (f) => f.id === 'm-1'));
    expect(message).toMatchObject({
      room: 'proto-room',
      origin: primary,
      seq: 1,
      from: 'alice',
      body: { text: 'hello' },
    });

    const retry = await alice.request({
      action: 'send',
      room: 'proto-room',
      id: 'm-1',
      body: { text: 'hello' },
    });
    expect(retry).toMatchObject({ type: 'ack', origin: primary, seq: 1, ts: ack.ts });
    const second = await alice.request({ action: 'send', room: 'proto-room', id: 'm-2', body: 2 });
    expect(second).toMatchObject({ type: 'ack', seq: 2 });
    await alice.next(isType('message', (f) => f.id === 'm-2'));
    // The retry produced no second message: m-1 arrived once, before m-2.
    expect(alice.frames.filter((f) => f.type === 'message' && f.id === 'm-1')).toHaveLength(1);
  });

  it('answers history oldest first, with limit and before', async () => {
    const bob = await open('bob');
    await bob.request({ action: 'join', room: 'history-room' });
    const acks: Frame[] = [];
    for (let i = 1; i <= 3; i++) {
      acks.push(await bob.request({ action: 'send', room: 'history-room', id: `h-${i}`, body: i }));
    }
    const all = await bob.request({ action: 'history', room: 'history-room' });
    expect(all.type).toBe('history');
    expect((all.messages as Frame[]).map((m) => m.id)).toEqual(['h-1', 'h-2', 'h-3']);
    const last = await bob.request({ action: 'history', room: 'history-room', limit: 1 });
    expect((last.messages as Frame[]).map((m) => m.id)).toEqual(['h-3']);
    const before = await bob.request({
      action: 'history',
      room: 'history-room',
      before: acks[2]?.ts as number,
    });
    expect((before.messages as Frame[]).every((m) => (m.ts as number) < (acks[2]?.ts as number))).toBe(true);
  });

  it('answers presence, announces joins and leaves, and forbids a room after leaving', async () => {
    const carol = await open('carol');
    const dave = await open('dave', secondary);
    await carol.request({ action: 'join', room: 'presence-room' });
    await dave.request({ action: 'join', room: 'presence-room' });
    const event = await carol.next(isType('presence', (f) => f.event === 'join' && f.user === 'dave'));
    expect(event).toMatchObject({ room: 'presence-room', region: secondary });

    const presence = await carol.request({ action: 'presence', room: 'presence-room' });
    expect(presence.type).toBe('presence');
    expect(presence.members).toEqual(
      expect.arrayContaining([
        { user: 'carol', region: primary },
        { user: 'dave', region: secondary },
      ]),
    );

    const left = await dave.request({ action: 'leave', room: 'presence-room' });
    expect(left).toMatchObject({ type: 'left', room: 'presence-room' });
    await carol.next(isType('presence', (f) => f.event === 'leave' && f.user === 'dave'));
    const refused = await dave.request({ action: 'send', room: 'presence-room', id: 'x', body: 'x' });
    expect(refused).toMatchObject({ type: 'error', code: 'forbidden', action: 'send' });
  });

  it('delivers across regions, dedups a retry in the other region, and resumes from a cursor there', async () => {
    const erin = await open('erin', primary);
    const frank = await open('frank', secondary);
    await erin.request({ action: 'join', room: 'cross-room' });
    await frank.request({ action: 'join', room: 'cross-room' });
    const ack = await erin.request({
      action: 'send',
      room: 'cross-room',
      id: 'c-1',
      body: 'from the primary',
    });
    const delivered = await frank.next(isType('message', (f) => f.id === 'c-1'));
    expect(delivered).toMatchObject({
      origin: primary,
      seq: ack.seq,
      from: 'erin',
      body: 'from the primary',
    });
    // A retry in the other region once the claim has replicated gets the first ack, and no message.
    await eventually(async () => {
      const claim = await stack.dynamoDb(secondary).send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: { pk: { S: 'ROOM#cross-room' }, sk: { S: 'ID#c-1' } },
          ConsistentRead: true,
        }),
      );
      return claim.Item !== undefined;
    });
    const retried = await frank.request({
      action: 'send',
      room: 'cross-room',
      id: 'c-1',
      body: 'from the primary',
    });
    expect(retried).toMatchObject({ type: 'ack', origin: primary, seq: ack.seq, ts: ack.ts });
    const back = await frank.request({
      action: 'send',
      room: 'cross-room',
      id: 'c-2',
      body: 'from the secondary',
    });
    expect(back).toMatchObject({ origin: secondary, seq: 1 });
    await erin.next(isType('message', (f) => f.id === 'c-2'));

    // A client that saw nothing resumes in the other region: it gets both messages before live traffic.
    const grace = await open('grace', secondary);
    const joined = await grace.request({ action: 'join', room: 'cross-room', since: {} });
    expect(joined.cursor).toMatchObject({ [primary]: 1, [secondary]: 1 });
    await grace.next(isType('message', (f) => f.id === 'c-1'));
    await grace.next(isType('message', (f) => f.id === 'c-2'));
    expect(erin.frames.filter((f) => f.type === 'message' && f.id === 'c-1')).toHaveLength(1);
    expect(frank.frames.filter((f) => f.type === 'message' && f.id === 'c-1')).toHaveLength(1);
  });
});

describe('Local stack: errors', () => {
  it('answers bad frames with bad_request and keeps the connection open', async () => {
    const client = await open('henry');
    client.send({ action: 'teleport', ref: 'bad-1' } as Record<string, unknown>);
    expect(await client.next((f) => f.ref === 'bad-1')).toMatchObject({ type: 'error', code: 'bad_request' });
    client.ws.send('this is not JSON');
    await client.next(isType('error', (f) => f.code === 'bad_request' && f.ref === undefined));
    const invalid = await client.request({ action: 'join', room: 'no spaces allowed' });
    expect(invalid).toMatchObject({ type: 'error', code: 'bad_request', action: 'join' });
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('answers forbidden for a room not joined', async () => {
    const client = await open('ivan');
    for (const frame of [
      { action: 'send', room: 'not-joined', id: 'n-1', body: 1 },
      { action: 'history', room: 'not-joined' },
      { action: 'presence', room: 'not-joined' },
    ]) {
      expect(await client.request(frame)).toMatchObject({
        type: 'error',
        code: 'forbidden',
        action: frame.action,
      });
    }
  });

  it('answers payload_too_large for a body over 16 KiB in a frame under 32 KiB', async () => {
    const client = await open('judy');
    await client.request({ action: 'join', room: 'big-room' });
    const reply = await client.request({
      action: 'send',
      room: 'big-room',
      id: 'big',
      body: 'x'.repeat(20_000),
    });
    expect(reply).toMatchObject({ type: 'error', code: 'payload_too_large', action: 'send' });
  });

  it('answers internal (without internals) when the store fails', async () => {
    const client = await open('leo');
    await client.request({ action: 'join', room: 'broken-room' });
    // A counter that is not a number makes the send transaction fail inside DynamoDB.
    await stack.dynamoDb(primary).send(
      new PutItemCommand({
        TableName: stack.tableName,
        Item: { pk: { S: 'ROOM#broken-room' }, sk: { S: `SEQ#${primary}` }, seq: { S: 'not a number' } },
      }),
    );
    const reply = await client.request({ action: 'send', room: 'broken-room', id: 'b-1', body: 1 });
    expect(reply).toMatchObject({ type: 'error', code: 'internal', message: 'internal error' });
  });

  it('closes the connection with 1009 for a frame over 32 KiB, as API Gateway does', async () => {
    const client = await open('mia');
    client.ws.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(40_000) }));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('Local stack: handshakes', () => {
  const region = () => stack.endpoints.regions[primary] as string;
  const sign = (secret: string, exp: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));

  it('refuses a handshake with no token with 401', async () => {
    expect(await refusedStatus(region())).toBe(401);
    expect(await refusedStatus(`${region()}?token=`)).toBe(401);
  });

  it('refuses a malformed token, a bad signature and an expired token with 403', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusedStatus(`${region()}?token=not.a.jwt`)).toBe(403);
    expect(await refusedStatus(`${region()}?token=${await sign('some-other-secret', now + 600)}`)).toBe(403);
    expect(await refusedStatus(`${region()}?token=${await stack.token('mallory', -60)}`)).toBe(403);
  });

  it('accepts a valid token on the stage path too, and through the global endpoint', async () => {
    const token = await stack.token('nina');
    const staged = await connect(`${region()}prod?token=${token}`);
    clients.push(staged);
    expect(await staged.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
    const global = await connect(`${stack.endpoints.global}?token=${token}`);
    clients.push(global);
    const joined = await global.request({ action: 'join', room: 'global-room' });
    expect(joined).toMatchObject({ type: 'joined', members: [{ user: 'nina', region: primary }] });
  });

  it('survives a client that resets the connection while $connect runs, and runs $disconnect for it', async () => {
    const port = Number(new URL(region()).port);
    const token = await stack.token('quinn');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let connectStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      connectStarted = resolve;
    });
    const disconnects: string[] = [];
    const off = stack.onInvocation((record) => {
      if (record.region === primary && record.handler === 'disconnect') disconnects.push(record.handler);
    });
    stack.setFault(primary, 'connect', async () => {
      connectStarted();
      await held;
    });
    try {
      const socket = createConnection(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(
        `GET /?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      await started;
      // A TCP reset, not a clean close: the gateway's side of the socket reads ECONNRESET.
      socket.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      stack.setFault(primary, 'connect', undefined);
      release();
    }
    const userConnections = async () =>
      (
        await stack.dynamoDb(primary).send(
          new QueryCommand({
            TableName: stack.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: 'USER#quinn' } },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    await eventually(async () => disconnects.length === 1 && (await userConnections()).length === 0);
    off();
    expect(await userConnections()).toEqual([]);
    const after = await open('quinn');
    expect(await after.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('Local stack: stale connections', () => {
  it('removes a connection whose socket is gone when a delivery gets 410', async () => {
    const olivia = await open('olivia');
    const stale = await open('paul');
    await olivia.request({ action: 'join', room: 'stale-room' });
    await stale.request({ action: 'join', room: 'stale-room' });
    // $disconnect fails, so the table still lists paul's connection after his socket is gone.
    stack.setFault(primary, 'disconnect', () => {
      throw new Error('injected: $disconnect lost');
    });
    await stale.close();
    const members = async () =>
      (
        await stack.dynamoDb(primary).send(
          new QueryCommand({
            TableName: stack.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
            ExpressionAttributeValues: { ':pk': { S: 'ROOM#stale-room' }, ':m': { S: 'MEMBER#' } },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    try {
      expect((await members()).map((m) => m.user?.S).sort()).toEqual(['olivia', 'paul']);
      const paulConnection = (await members()).find((m) => m.user?.S === 'paul')?.connectionId?.S as string;
      await olivia.request({ action: 'send', room: 'stale-room', id: 's-1', body: 'anyone there?' });
      await eventually(async () => (await members()).length === 1);
      expect((await members()).map((m) => m.user?.S)).toEqual(['olivia']);
      const connection = await stack.dynamoDb(primary).send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: { pk: { S: `CONN#${paulConnection}` }, sk: { S: 'META' } },
        }),
      );
      expect(connection.Item).toBeUndefined();
    } finally {
      stack.setFault(primary, 'disconnect', undefined);
    }
  });
});

describe('Local stack: the global endpoint', () => {
  it('serves the web chat page, the regions document and local sign-in tokens', async () => {
    const page = await fetch(stack.endpoints.web);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<html/i);

    const doc = (await (await fetch(stack.endpoints.control)).json()) as {
      primary: string;
      regions: Record<string, unknown>[];
    };
    expect(doc.primary).toBe(primary);
    expect(doc.regions.map((r) => r.name)).toEqual([primary, secondary]);
    for (const region of doc.regions) {
      expect(region).toMatchObject({
        state: 'healthy',
        endpoint: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/$/),
      });
      expect(region.health).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
      expect(typeof region.replicationLagMs).toBe('number');
    }

    const issued = (await (await fetch(`${stack.endpoints.web}_local/token?user=zoe`)).json()) as {
      token: string;
    };
    const zoe = await connect(`${stack.endpoints.global}?token=${issued.token}`);
    clients.push(zoe);
    const joined = await zoe.request({ action: 'join', room: 'web-room' });
    expect(joined.members).toEqual([{ user: 'zoe', region: primary }]);
    expect((await fetch(`${stack.endpoints.web}_local/token`)).status).toBe(400);
  });
});
