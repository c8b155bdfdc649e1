import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { send } from '../../lambdas/handlers/send.js';
import { RateLimitedError } from '../../lambdas/shared/errors.js';
import { limited } from '../../lambdas/shared/route.js';
import { addMembership, keys, putConnection, takeToken } from '../../lambdas/shared/store/index.js';
import type { WebSocketEvent } from '../../lambdas/shared/websocket.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { type LocalDeps, localDeps, useHandlerEnvironment } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { connectEvent, disconnectEvent, lambdaContext, routeEvent } from '../helpers/events.js';
import { createTable } from '../helpers/table.js';

// Limits through the real entry points (environment as in Lambda) against DynamoDB Local; the
// rate limit also through the send logic behind its limit with a controlled clock, so refills are
// exact (the other actions' limits: rate-limits.test.ts).
let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let deps: LocalDeps;
let clock = 1_700_000_000_000;
const savedEnv = { ...process.env };
type Handlers = {
  connect: typeof import('../../lambdas/handlers/connect.js').handler;
  disconnect: typeof import('../../lambdas/handlers/disconnect.js').handler;
  join: typeof import('../../lambdas/handlers/join.js').handler;
  send: typeof import('../../lambdas/handlers/send.js').handler;
  history: typeof import('../../lambdas/handlers/history.js').handler;
  presence: typeof import('../../lambdas/handlers/presence.js').handler;
};
let handlers: Handlers;

/** A route event whose authorizer context carries a `rooms` claim, as the authorizer serializes it. */
const withRooms = (event: WebSocketEvent, rooms: string[]): WebSocketEvent => ({
  ...event,
  requestContext: {
    ...event.requestContext,
    authorizer: { ...event.requestContext.authorizer, rooms: JSON.stringify(rooms) },
  },
});

const errorCodes = (connectionId: string) =>
  server
    .framesFor(connectionId)
    .filter((frame) => frame.type === 'error')
    .map((frame) => frame.code);

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  const tableName = await createTable(new DynamoDBClient(ddb.clientConfig));
  useHandlerEnvironment({
    tableName,
    connectionsEndpoint: server.endpoint,
    dynamoDbEndpoint: ddb.endpoint,
    extra: {
      MAX_ROOMS_PER_CONNECTION: '2',
      MAX_CONNECTIONS_PER_USER: '2',
    },
  });
  handlers = {
    connect: (await import('../../lambdas/handlers/connect.js')).handler,
    disconnect: (await import('../../lambdas/handlers/disconnect.js')).handler,
    join: (await import('../../lambdas/handlers/join.js')).handler,
    send: (await import('../../lambdas/handlers/send.js')).handler,
    history: (await import('../../lambdas/handlers/history.js')).handler,
    presence: (await import('../../lambdas/handlers/presence.js')).handler,
  };
  deps = {
    ...localDeps({
      clientConfig: ddb.clientConfig,
      tableName,
      connectionsEndpoint: server.endpoint,
      config: { limits: { sendRatePerSecond: 2, sendBurst: 3 } },
    }),
    now: () => clock,
  };
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await stopDynamoDbLocal(ddb);
});

beforeEach(() => {
  server.posts.length = 0;
});

describe('Integration: send rate limit (token bucket on the connection item)', () => {
  it('allows a burst, answers rate_limited beyond it, and refills at the configured rate', async () => {
    // Prepare
    const caller = { connectionId: 'rl-1', user: 'rita' };
    await putConnection(deps.db, { ...caller, region: 'us-east-1', now: clock });
    await addMembership(deps.db, { room: 'rl', ...caller, region: 'us-east-1', now: clock });
    const sendOne = (id: string) =>
      limited('send', send)(deps, caller, { action: 'send', room: 'rl', id, body: id });

    // Act
    for (const id of ['a', 'b', 'c']) await sendOne(id);
    const refused = await sendOne('d').catch((error: unknown) => error);
    clock += 500; // one token at 2 per second
    await sendOne('e');
    const refusedAgain = await sendOne('f').catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refusedAgain).toBeInstanceOf(RateLimitedError);
    const acks = server.framesFor('rl-1').filter((frame) => frame.type === 'ack');
    expect(acks.map((frame) => frame.id)).toEqual(['a', 'b', 'c', 'e']);
    const stored = await deps.db.client.send(
      new QueryCommand({
        TableName: deps.db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        ExpressionAttributeValues: { ':pk': 'ROOM#rl', ':msg': 'MSG#' },
      }),
    );
    expect(stored.Items?.map((item) => item.id)).toEqual(['a', 'b', 'c', 'e']);
  });

  it('gives concurrent senders (other containers) exactly the burst, then one send per interval', async () => {
    // Prepare
    await putConnection(deps.db, { connectionId: 'rl-race', user: 'rita', region: 'us-east-1', now: clock });
    const rate = { perSecond: 1, burst: 20 };
    const takeMany = (count: number, at: number) =>
      Promise.all(Array.from({ length: count }, () => takeToken(deps.db, 'rl-race', 'send', rate, at)));

    // Act
    const burst = await takeMany(40, clock);
    const sameInstant = await takeMany(3, clock);
    const aSecondLater = await takeMany(3, clock + 1_000);

    // Assess: with a read and a compare-and-set, most of a burst this size lost to the others.
    expect(burst.filter(Boolean)).toHaveLength(20);
    expect(sameInstant.filter(Boolean)).toHaveLength(0);
    expect(aSecondLater.filter(Boolean)).toHaveLength(1);
    const item = await deps.db.client.send(
      new GetCommand({ TableName: deps.db.table, Key: keys.connection('rl-race'), ConsistentRead: true }),
    );
    expect(item.Item?.sendTat).toBe(clock + 21_000);
  });

  it('answers rate_limited as an error frame through the send entry point', async () => {
    // Prepare
    process.env.SEND_BURST = '1';
    process.env.SEND_RATE_PER_SECOND = '1';
    await handlers.connect(connectEvent('rl-entry', 'sam'), lambdaContext());
    await handlers.join(
      routeEvent('join', { action: 'join', room: 'rle' }, { connectionId: 'rl-entry', user: 'sam' }),
      lambdaContext(),
    );

    // Act
    // The bucket starts full with one token; a second send within the same second finds it empty
    // unless a whole second passed, so send until refused, at most a few times.
    const results: unknown[] = [];
    for (let index = 0; index < 5 && !errorCodes('rl-entry').includes('rate_limited'); index++) {
      results.push(
        await handlers.send(
          routeEvent(
            'send',
            { action: 'send', room: 'rle', id: `m${index}`, body: 1, ref: `r${index}` },
            { connectionId: 'rl-entry', user: 'sam' },
          ),
          lambdaContext(),
        ),
      );
    }
    delete process.env.SEND_BURST;
    delete process.env.SEND_RATE_PER_SECOND;

    // Assess
    expect(results.every((result) => (result as { statusCode: number }).statusCode === 200)).toBe(true);
    const refusal = server.framesFor('rl-entry').find((frame) => frame.type === 'error');
    expect(refusal).toMatchObject({ code: 'rate_limited', action: 'send' });
  });
});

describe('Integration: rooms per connection and connections per user', () => {
  it('answers forbidden to a join beyond MAX_ROOMS_PER_CONNECTION and still allows a re-join and a join after a leave', async () => {
    // Prepare
    await handlers.connect(connectEvent('rooms-1', 'ursula'), lambdaContext());
    const joinRoom = (room: string) =>
      handlers.join(
        routeEvent('join', { action: 'join', room, ref: room }, { connectionId: 'rooms-1', user: 'ursula' }),
        lambdaContext(),
      );

    // Act
    await joinRoom('one');
    await joinRoom('two');
    await joinRoom('three');
    await joinRoom('two');

    // Assess
    const frames = server.framesFor('rooms-1');
    expect(frames.filter((frame) => frame.type === 'joined').map((frame) => frame.room)).toEqual([
      'one',
      'two',
      'two',
    ]);
    expect(frames.filter((frame) => frame.type === 'error')).toEqual([
      expect.objectContaining({ code: 'forbidden', ref: 'three', action: 'join' }),
    ]);
    const rooms = await deps.db.client.send(
      new QueryCommand({
        TableName: deps.db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': 'CONN#rooms-1', ':prefix': 'ROOM#' },
      }),
    );
    expect(rooms.Items?.map((item) => item.room).sort()).toEqual(['one', 'two']);
  });

  it('refuses a $connect beyond MAX_CONNECTIONS_PER_USER with 429 and accepts one again after a disconnect', async () => {
    // Act
    const first = await handlers.connect(connectEvent('u-1', 'victor'), lambdaContext());
    const second = await handlers.connect(connectEvent('u-2', 'victor'), lambdaContext());
    const third = await handlers.connect(connectEvent('u-3', 'victor'), lambdaContext());
    const otherUser = await handlers.connect(connectEvent('u-4', 'wendy'), lambdaContext());
    await handlers.disconnect(disconnectEvent('u-1', 'victor'), lambdaContext());
    const afterDisconnect = await handlers.connect(connectEvent('u-5', 'victor'), lambdaContext());

    // Assess
    expect([first, second, third, otherUser, afterDisconnect].map((result) => result.statusCode)).toEqual([
      200, 200, 429, 200, 200,
    ]);
    const refused = await deps.db.client.send(
      new GetCommand({ TableName: deps.db.table, Key: keys.connection('u-3'), ConsistentRead: true }),
    );
    expect(refused.Item).toBeUndefined();
  });
});

describe('Integration: room access rules from the token (rooms claim)', () => {
  it('answers forbidden on join, send, history and presence outside the patterns and allows the rest', async () => {
    // Prepare
    await handlers.connect(connectEvent('claim-1', 'xena'), lambdaContext());
    const event = (action: string, room: string, extra: Record<string, unknown> = {}) =>
      withRooms(
        routeEvent(
          action,
          { action, room, ref: `${action}:${room}`, ...extra },
          { connectionId: 'claim-1', user: 'xena' },
        ),
        ['team-*'],
      );

    // Act
    await handlers.join(event('join', 'team-red'), lambdaContext());
    await handlers.join(event('join', 'secret'), lambdaContext());
    await handlers.send(event('send', 'team-red', { id: 'ok', body: 1 }), lambdaContext());
    await handlers.send(event('send', 'secret', { id: 'no', body: 1 }), lambdaContext());
    await handlers.history(event('history', 'secret'), lambdaContext());
    await handlers.presence(event('presence', 'secret'), lambdaContext());

    // Assess
    const frames = server.framesFor('claim-1');
    expect(frames.filter((frame) => frame.type === 'error').map((frame) => [frame.ref, frame.code])).toEqual([
      ['join:secret', 'forbidden'],
      ['send:secret', 'forbidden'],
      ['history:secret', 'forbidden'],
      ['presence:secret', 'forbidden'],
    ]);
    expect(frames.some((frame) => frame.type === 'ack' && frame.ref === 'send:team-red')).toBe(true);
  });
});

describe('Integration: history page size', () => {
  it('answers bad_request to a limit over 100 and serves a page of at most the limit', async () => {
    // Prepare
    await handlers.connect(connectEvent('hist-1', 'yan'), lambdaContext());
    const at = (body: Record<string, unknown>) =>
      routeEvent(body.action as string, body, { connectionId: 'hist-1', user: 'yan' });
    await handlers.join(at({ action: 'join', room: 'pages' }), lambdaContext());
    for (const id of ['p1', 'p2', 'p3']) {
      await handlers.send(at({ action: 'send', room: 'pages', id, body: id }), lambdaContext());
    }

    // Act
    await handlers.history(
      at({ action: 'history', room: 'pages', limit: 101, ref: 'too-many' }),
      lambdaContext(),
    );
    await handlers.history(at({ action: 'history', room: 'pages', limit: 2, ref: 'two' }), lambdaContext());

    // Assess
    const frames = server.framesFor('hist-1');
    expect(frames.find((frame) => frame.ref === 'too-many')).toMatchObject({
      type: 'error',
      code: 'bad_request',
    });
    const page = frames.find((frame) => frame.ref === 'two') as { messages: { id: string }[] } | undefined;
    expect(page?.messages.map((message) => message.id)).toEqual(['p2', 'p3']);
  });
});
