/**
 * The protocol on the local stack, where it needs the stack's own controls: cross-region delivery
 * and a retry deduplicated in the other region (fan-out from the replica's stream), `internal` when
 * the store fails, tokens on the stage path and through the global endpoint, a client that resets
 * during the handshake, a stale connection cleaned up through a 410, and the global endpoint's page.
 * The wire-only conformance tests (every action, `bad_request`, `forbidden`, `payload_too_large`,
 * 1009, refused handshakes) are in `conformance.test.ts`, which also runs against deployments.
 *
 * `unauthorized` is answered at the handshake (401/403): behind the authorizer every route knows
 * its user. `rate_limited` comes from the send rate limit (test/integration/limits.test.ts), and API
 * Gateway's own throttling answers with its `Too Many Requests` message
 * (test/unit/local/gateway.test.ts); no handler answers `not_found`.
 */

import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { connect, eventually, isType, startTestStack, type TestClient, urlFor } from './helpers.js';

let stack: LocalStack;
let primary: string;
let secondary: string;
const clients: TestClient[] = [];

const open = async (user: string, region = primary): Promise<TestClient> => {
  const client = await connect(await urlFor(stack, stack.endpoints.regions[region] as string, user));
  clients.push(client);
  return client;
};

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
    // The sender's retry in the other region, once the claim has replicated, gets the first ack and
    // sends no message; another sender's use of the id is a conflict.
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
    const erinAway = await open('erin', secondary);
    await erinAway.request({ action: 'join', room: 'cross-room' });
    const retried = await erinAway.request({
      action: 'send',
      room: 'cross-room',
      id: 'c-1',
      body: 'from the primary',
    });
    expect(retried).toMatchObject({ type: 'ack', origin: primary, seq: ack.seq, ts: ack.ts });
    const taken = await frank.request({ action: 'send', room: 'cross-room', id: 'c-1', body: 'mine' });
    expect(taken).toMatchObject({ type: 'error', code: 'conflict' });
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
});

describe('Local stack: handshakes', () => {
  const region = () => stack.endpoints.regions[primary] as string;
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
