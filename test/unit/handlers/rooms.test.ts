import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../../../lambdas/handlers/connect.js';
import { defaultError, fallback } from '../../../lambdas/handlers/default.js';
import { disconnect } from '../../../lambdas/handlers/disconnect.js';
import { history } from '../../../lambdas/handlers/history.js';
import { join, replayPlan } from '../../../lambdas/handlers/join.js';
import { leave } from '../../../lambdas/handlers/leave.js';
import { ping } from '../../../lambdas/handlers/ping.js';
import { ForbiddenError, UnauthorizedError } from '../../../lambdas/shared/errors.js';
import { createMemoryStore, type Store } from '../../../lambdas/shared/store/index.js';
import { connectEvent, disconnectEvent, routeEvent } from '../../helpers/events.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);

afterEach(() => {
  apiMock.reset();
  vi.restoreAllMocks();
});

const caller = { connectionId: 'c1', user: 'alice' };

/** A connection as `$connect` stores it, last heard from at `lastSeen`. */
const connected = (store: Store, connectionId: string, user: string, region = 'us-east-1', lastSeen = NOW) =>
  store.putConnection({ connectionId, user, region, now: lastSeen });

/** A membership as `join` writes it. */
const joined = (store: Store, room: string, connectionId: string, user: string, region = 'us-east-1') =>
  store.addMembership({ room, connectionId, user, region, now: NOW - 60_000 });

/** A message of `origin` stored with seq `seq` (and ts `seq`), as a send in that region would. */
const stored = (store: Store, origin: string, seq: number) =>
  store.storeMessage(
    { room: 'r', id: `${origin}-${seq}`, from: 'bob', body: 'x', region: origin },
    { consistency: 'eventual', retentionDays: 30, now: () => seq },
  );

describe('Handler: connect', () => {
  it('stores the connection with its user and region, seen now, and counts it for its user', async () => {
    // Prepare
    const deps = unitDeps();

    // Act
    const result = await connect(deps, connectEvent('c1', 'alice'));

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(await deps.store.getConnection('c1')).toEqual({
      user: 'alice',
      region: 'us-east-1',
      connectedAt: NOW,
      lastSeen: NOW,
    });
    // Counted: under a limit of one, alice may not open another.
    expect(
      await deps.store.registerUserConnection({
        user: 'alice',
        connectionId: 'c2',
        region: 'us-east-1',
        now: NOW,
        max: 1,
      }),
    ).toBe(false);
  });

  it('answers 401 and stores nothing without an authorizer user', async () => {
    // Prepare
    const deps = unitDeps();
    const register = vi.spyOn(deps.store, 'registerUserConnection');
    const put = vi.spyOn(deps.store, 'putConnection');

    // Act
    const result = await connect(deps, connectEvent('c1', null));

    // Assess
    expect(result).toEqual({ statusCode: 401 });
    expect(register).not.toHaveBeenCalled();
    expect(put).not.toHaveBeenCalled();
  });
});

describe('Handler: join', () => {
  it('writes both memberships, answers joined, replays from since in seq order, then announces to others', async () => {
    // Prepare
    const deps = unitDeps();
    const { store } = deps;
    await connected(store, 'c1', 'alice');
    await connected(store, 'c2', 'bob', 'us-east-1', NOW - 5_000);
    await connected(store, 'w1', 'carl', 'eu-west-1', NOW - 30_000);
    await joined(store, 'r', 'c2', 'bob');
    await joined(store, 'r', 'w1', 'carl', 'eu-west-1');
    for (const seq of [1, 2, 3]) await stored(store, 'us-east-1', seq);
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await join(deps, caller, { action: 'join', room: 'r', ref: 'j', since: { 'us-east-1': 1 } });

    // Assess
    expect(await store.isMember('r', 'c1')).toBe(true);
    expect(await store.listMembers('r', 'us-east-1')).toContainEqual({
      room: 'r',
      user: 'alice',
      region: 'us-east-1',
      connectionId: 'c1',
      joinedAt: NOW,
    });
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c1',
        frame: {
          type: 'joined',
          ref: 'j',
          room: 'r',
          cursor: { 'us-east-1': 3 },
          members: [
            { user: 'alice', region: 'us-east-1' },
            { user: 'bob', region: 'us-east-1' },
            { user: 'carl', region: 'eu-west-1' },
          ],
          memberCount: 3,
          region: 'us-east-1',
        },
      },
      {
        connectionId: 'c1',
        frame: expect.objectContaining({ type: 'message', origin: 'us-east-1', seq: 2 }),
      },
      {
        connectionId: 'c1',
        frame: expect.objectContaining({ type: 'message', origin: 'us-east-1', seq: 3 }),
      },
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'join', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });

  it('a re-join answers joined and replays, writes no membership and announces nothing', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice');
    await connected(deps.store, 'c2', 'bob');
    await joined(deps.store, 'r', 'c2', 'bob');
    await join(deps, caller, { action: 'join', room: 'r' });
    await stored(deps.store, 'us-east-1', 1);
    apiMock.reset();
    apiMock.on(PostToConnectionCommand).resolves({});
    const add = vi.spyOn(deps.store, 'addMembership');

    // Act
    await join(deps, caller, { action: 'join', room: 'r', since: {} });

    // Assess
    await expect(add.mock.results[0]?.value).resolves.toBe('rejoined');
    expect(postedFrames(apiMock).map((posted) => [posted.connectionId, posted.frame.type])).toEqual([
      ['c1', 'joined'],
      ['c1', 'message'],
    ]);
    expect(await deps.store.roomCount('c1')).toBe(1);
  });

  it('refuses a join beyond maxRoomsPerConnection with forbidden, and stores nothing', async () => {
    // Prepare
    const deps = unitDeps({ limits: { maxRoomsPerConnection: 1 } });
    await connected(deps.store, 'c1', 'alice');
    apiMock.on(PostToConnectionCommand).resolves({});
    await join(deps, caller, { action: 'join', room: 'a' });

    // Act + Assess
    await expect(join(deps, caller, { action: 'join', room: 'b' })).rejects.toThrow(
      /at most 1 rooms; leave one first/,
    );
    expect(await deps.store.isMember('b', 'c1')).toBe(false);
    expect(await deps.store.listMembers('b')).toEqual([]);
  });

  it('replays at most maxReplay messages, the oldest missed of each origin, and says more', async () => {
    // Prepare: 6 missed from us-east-1, 1 from eu-west-1, a budget of 4.
    const deps = unitDeps({ limits: { maxReplay: 4 } });
    await connected(deps.store, 'c1', 'alice');
    for (const seq of [1, 2, 3, 4, 5, 6]) await stored(deps.store, 'us-east-1', seq);
    await stored(deps.store, 'eu-west-1', 1);
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await join(deps, caller, { action: 'join', room: 'r', since: { 'us-east-1': 0 } });

    // Assess
    const frames = postedFrames(apiMock).map((posted) => posted.frame);
    expect(frames[0]).toMatchObject({
      type: 'joined',
      more: true,
      cursor: { 'us-east-1': 6, 'eu-west-1': 1 },
    });
    expect(frames.slice(1).map((frame) => `${frame.origin}:${frame.seq}`)).toEqual([
      'eu-west-1:1',
      'us-east-1:1',
      'us-east-1:2',
      'us-east-1:3',
    ]);
  });

  it('splits the replay budget among origins, fewest missed first, and leaves more out only when over it', () => {
    // Act
    const plan = replayPlan({ a: 10, b: 3, c: 100 }, { a: 2, c: 50 }, 10);
    const all = replayPlan({ a: 3 }, { a: 1 }, 10);

    // Assess: b missed 3, a 8, c 50: b gets 3, a and c split the 7 left.
    expect(plan).toEqual({
      ranges: [
        { origin: 'b', after: 0, upTo: 3 },
        { origin: 'a', after: 2, upTo: 5 },
        { origin: 'c', after: 50, upTo: 54 },
      ],
      more: true,
    });
    expect(all).toEqual({ ranges: [{ origin: 'a', after: 1, upTo: 3 }], more: false });
  });

  it('refuses an unknown connection without a user', async () => {
    // Prepare
    const deps = unitDeps();

    // Act + Assess
    await expect(
      join(deps, { connectionId: 'c1', user: undefined }, { action: 'join', room: 'r' }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await deps.store.isMember('r', 'c1')).toBe(false);
    expect(await deps.store.listMembers('r')).toEqual([]);
  });
});

describe('Handler: leave', () => {
  it('removes both memberships, answers left and tells the remaining local members', async () => {
    // Prepare
    const deps = unitDeps();
    await joined(deps.store, 'r', 'c1', 'alice');
    await joined(deps.store, 'r', 'c2', 'bob');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await leave(deps, caller, { action: 'leave', room: 'r', ref: 'l' });

    // Assess
    expect(await deps.store.isMember('r', 'c1')).toBe(false);
    expect((await deps.store.listMembers('r')).map((member) => member.connectionId)).toEqual(['c2']);
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'c1', frame: { type: 'left', ref: 'l', room: 'r' } },
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'leave', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });

  it('answers left without announcing when the connection was not in the room', async () => {
    // Prepare
    const deps = unitDeps();
    await joined(deps.store, 'r', 'c2', 'bob');
    const remove = vi.spyOn(deps.store, 'removeMembership');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await leave(deps, caller, { action: 'leave', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)).toEqual([{ connectionId: 'c1', frame: { type: 'left', room: 'r' } }]);
    await expect(remove.mock.results[0]?.value).resolves.toBe(false);
    expect(await deps.store.isMember('r', 'c2')).toBe(true);
  });
});

describe('Handler: history', () => {
  it('answers the page oldest first with the default limit of 50', async () => {
    // Prepare
    const deps = unitDeps();
    await joined(deps.store, 'r', 'c1', 'alice');
    for (const seq of [1, 2]) await stored(deps.store, 'us-east-1', seq);
    const page = vi.spyOn(deps.store, 'historyPage');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await history(deps, caller, { action: 'history', room: 'r', ref: 'h' });

    // Assess
    expect(page).toHaveBeenCalledWith('r', { limit: 50, before: undefined });
    const reply = postedFrames(apiMock)[0]?.frame;
    expect(reply).toMatchObject({ type: 'history', ref: 'h', room: 'r' });
    expect(((reply?.messages ?? []) as { seq: number }[]).map((message) => message.seq)).toEqual([1, 2]);
  });

  it('is forbidden before join', async () => {
    // Prepare
    const deps = unitDeps();
    const page = vi.spyOn(deps.store, 'historyPage');

    // Act + Assess
    await expect(history(deps, caller, { action: 'history', room: 'r' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(page).not.toHaveBeenCalled();
  });
});

describe('Handler: ping and $default', () => {
  it('answers pong with the server time and the ref, and records the heartbeat', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice', 'us-east-1', NOW - 20_000);
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await ping(deps, caller, { action: 'ping', ref: 'p' });

    // Assess
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'c1', frame: { type: 'pong', ref: 'p', ts: NOW } },
    ]);
    expect(await deps.store.lastSeenOf(['c1'])).toEqual(new Map([['c1', NOW]]));
  });

  it('still answers pong when recording the heartbeat fails, and records none with the presence timeout off', async () => {
    // Prepare
    const store = createMemoryStore();
    const touch = vi
      .spyOn(store, 'takeToken')
      .mockRejectedValueOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await ping(unitDeps({}, { store }), caller, { action: 'ping', ref: 'a' });
    await ping(unitDeps({ presenceTimeoutSeconds: 0 }, { store }), caller, { action: 'ping', ref: 'b' });

    // Assess
    expect(postedFrames(apiMock).map((posted) => posted.frame)).toEqual([
      { type: 'pong', ref: 'a', ts: NOW },
      { type: 'pong', ref: 'b', ts: NOW },
    ]);
    expect(touch).toHaveBeenCalledTimes(1);
  });

  it('names the unknown action in a bad_request error', async () => {
    // Prepare
    const sent: unknown[] = [];

    // Act
    const result = await fallback(
      async (connectionId, frame) => sent.push({ connectionId, frame }),
      routeEvent('$default', { action: 'dance', ref: 'd' }),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(sent).toEqual([
      {
        connectionId: 'conn-1',
        frame: {
          type: 'error',
          code: 'bad_request',
          message: 'unknown action "dance"; expected one of join, leave, send, history, presence, ping',
          ref: 'd',
          action: 'dance',
        },
      },
    ]);
  });

  it('answers frames that are not JSON, or have no action, with bad_request', () => {
    // Assess
    expect(defaultError('{oops')).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' });
    expect(defaultError('{"room":"r"}')).toMatchObject({ code: 'bad_request' });
    expect(defaultError('{"action":"ping"}')).toMatchObject({ code: 'bad_request', action: 'ping' });
  });
});

describe('Handler: disconnect', () => {
  it('removes the connection and its memberships and announces the leave', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice');
    await joined(deps.store, 'r', 'c1', 'alice');
    await joined(deps.store, 'r', 'c2', 'bob');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await disconnect(deps, disconnectEvent('c1', 'alice'));

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(await deps.store.getConnection('c1')).toBeUndefined();
    expect(await deps.store.isMember('r', 'c1')).toBe(false);
    expect((await deps.store.listMembers('r')).map((member) => member.connectionId)).toEqual(['c2']);
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'leave', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });
});
