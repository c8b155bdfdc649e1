import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as connect } from '../../lambdas/handlers/connect.js';
import { history, handler as historyHandler } from '../../lambdas/handlers/history.js';
import { join, handler as joinHandler } from '../../lambdas/handlers/join.js';
import { leave, handler as leaveHandler } from '../../lambdas/handlers/leave.js';
import { ping, handler as pingHandler } from '../../lambdas/handlers/ping.js';
import { presence, handler as presenceHandler } from '../../lambdas/handlers/presence.js';
import { RateLimitedError } from '../../lambdas/shared/errors.js';
import { limited } from '../../lambdas/shared/route.js';
import { addMembership, keys, putConnection } from '../../lambdas/shared/store/index.js';
import type { Caller, WebSocketEvent } from '../../lambdas/shared/websocket.js';
import type { ClientAction } from '../../protocol/index.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { type LocalDeps, localDeps, useHandlerEnvironment } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { connectEvent, lambdaContext, routeEvent } from '../helpers/events.js';
import { createTable } from '../helpers/table.js';

// The rate limits of join, leave, history, presence and ping on DynamoDB Local (send's:
// limits.test.ts): through the logic behind its limit with a controlled clock, so refills are
// exact, and through the real entry points with the limits from the environment, as in Lambda.
let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let deps: LocalDeps;
let clock = 1_700_000_000_000;
const savedEnv = { ...process.env };

const BURST = 2;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  const tableName = await createTable(new DynamoDBClient(ddb.clientConfig));
  useHandlerEnvironment({ tableName, connectionsEndpoint: server.endpoint, dynamoDbEndpoint: ddb.endpoint });
  const limits = Object.fromEntries(
    (['join', 'leave', 'history', 'presence', 'ping'] as const).flatMap((action) => [
      [`${action}RatePerSecond`, 1],
      [`${action}Burst`, BURST],
    ]),
  );
  deps = {
    ...localDeps({
      clientConfig: ddb.clientConfig,
      tableName,
      connectionsEndpoint: server.endpoint,
      config: { limits, presenceTimeoutSeconds: 45 },
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

/** The connection item as stored. */
const connectionItem = async (connectionId: string) =>
  (
    await deps.db.client.send(
      new GetCommand({ TableName: deps.db.table, Key: keys.connection(connectionId), ConsistentRead: true }),
    )
  ).Item;

/** A connected member of room `r`. */
const connected = async (connectionId: string) => {
  const caller = { connectionId, user: 'rita' };
  await putConnection(deps.db, { ...caller, region: 'us-east-1', now: clock });
  await addMembership(deps.db, { room: 'r', ...caller, region: 'us-east-1', now: clock });
  return caller;
};

const outcome = (run: Promise<unknown>): Promise<unknown> =>
  run.then(
    () => 'allowed',
    (error: unknown) => error,
  );

describe('Integration: the rate limits of join, leave, history and presence', () => {
  const routes = {
    join: (caller: Caller, n: number) =>
      limited('join', join)(deps, caller, { action: 'join', room: `j${n}` }),
    // Leaves r on the refused request: it must stay in r.
    leave: (caller: Caller, n: number) =>
      limited('leave', leave)(deps, caller, { action: 'leave', room: n === BURST ? 'r' : `j${n}` }),
    history: (caller: Caller) => limited('history', history)(deps, caller, { action: 'history', room: 'r' }),
    presence: (caller: Caller) =>
      limited('presence', presence)(deps, caller, { action: 'presence', room: 'r' }),
  } as const;

  it.each(Object.keys(routes) as (keyof typeof routes)[])(
    '%s: the burst, then rate_limited changing nothing, then one more a second later',
    async (action) => {
      // Prepare
      const caller = await connected(`rl-${action}`);
      const run = routes[action];
      for (let n = 0; n < BURST; n++) await run(caller, n);
      const burstAt = clock;
      const repliesBefore = server.framesFor(caller.connectionId).length;

      // Act
      const refused = await outcome(run(caller, BURST));
      const repliesAfterRefusal = server.framesFor(caller.connectionId).length;
      const rooms = await Promise.all(
        ['r', `j${BURST}`].map((room) => deps.store.isMember(room, caller.connectionId)),
      );
      const item = await connectionItem(caller.connectionId);
      clock += 1_000;
      const refilled = await outcome(run(caller, BURST + 1));

      // Assess
      expect(refused).toBeInstanceOf(RateLimitedError);
      expect(repliesAfterRefusal).toBe(repliesBefore);
      expect(rooms).toEqual([true, false]);
      // Two tokens at 1 per second: full again two seconds after the clock of the burst.
      expect(item?.[`${action}Tat`]).toBe(burstAt + 2_000);
      expect(refilled).toBe('allowed');
    },
  );
});

describe('Integration: the rate limit of ping, in its heartbeat write', () => {
  it('pongs the burst, refuses the next without recording it, and keeps the bucket on the item of lastSeen', async () => {
    // Prepare
    const caller = await connected('rl-ping');
    clock += 10_000;
    const pingAt = () => outcome(ping(deps, caller, { action: 'ping' }));
    const burst = [await pingAt(), await pingAt()];
    const seen = clock;
    clock += 500;

    // Act
    const refused = await pingAt();
    const item = await connectionItem(caller.connectionId);

    // Assess
    expect(burst).toEqual(['allowed', 'allowed']);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(item).toMatchObject({ lastSeen: seen, pingTat: seen + 2_000 });
    expect(server.framesFor(caller.connectionId).map((frame) => frame.type)).toEqual(['pong', 'pong']);
  });
});

describe('Integration: the rate limits through the entry points (limits from the environment)', () => {
  type Entry = (event: WebSocketEvent, context: Context) => Promise<{ statusCode: number }>;
  const entries: Record<Exclude<ClientAction, 'send'>, [Entry, (n: number) => Record<string, unknown>]> = {
    join: [joinHandler, (n) => ({ action: 'join', room: `e${n}` })],
    leave: [leaveHandler, (n) => ({ action: 'leave', room: `e${n}` })],
    history: [historyHandler, () => ({ action: 'history', room: 'e' })],
    presence: [presenceHandler, () => ({ action: 'presence', room: 'e' })],
    ping: [pingHandler, () => ({ action: 'ping' })],
  };

  it.each(Object.keys(entries) as (keyof typeof entries)[])(
    '%s answers rate_limited with the configured rate, as an error frame of the action',
    async (action) => {
      // Prepare
      const name = action.toUpperCase();
      process.env[`${name}_BURST`] = '1';
      process.env[`${name}_RATE_PER_SECOND`] = '1';
      const [entry, frame] = entries[action];
      const connectionId = `entry-${action}`;
      await connect(connectEvent(connectionId, 'sam'), lambdaContext());
      // The member of room e that history and presence need (a join of its own would take no token
      // of theirs, but keeps this test to one action).
      await addMembership(deps.db, { room: 'e', connectionId, user: 'sam', region: 'us-east-1', now: clock });
      const refusals = () =>
        server
          .framesFor(connectionId)
          .filter((frame) => frame.type === 'error' && frame.code === 'rate_limited');

      // Act
      // The bucket holds one token and refills one a second: a second request within the same
      // second finds it empty, so request until refused, at most a few times.
      const statuses: number[] = [];
      for (let n = 0; n < 5 && refusals().length === 0; n++) {
        const event = routeEvent(action, { ...frame(n), ref: `r${n}` }, { connectionId, user: 'sam' });
        statuses.push((await entry(event, lambdaContext())).statusCode);
      }
      delete process.env[`${name}_BURST`];
      delete process.env[`${name}_RATE_PER_SECOND`];

      // Assess
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(refusals()[0]).toMatchObject({
        code: 'rate_limited',
        action,
        message: expect.stringMatching(/^at most 1 .+ per second \(bursts of 1\); retry later$/),
      });
      if (action === 'join') {
        const refusedRoom = `e${statuses.length - 1}`;
        expect(await deps.store.isMember(refusedRoom, connectionId)).toBe(false);
      }
    },
  );
});
