/** The `presence` route: one page of the room's members, live ones only. */
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { presence } from '../../../lambdas/handlers/presence.js';
import { BadRequestError, ForbiddenError } from '../../../lambdas/shared/errors.js';
import type { Store } from '../../../lambdas/shared/store/index.js';
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

describe('Handler: presence', () => {
  it('lists the members of every region', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice', 'us-east-1', NOW - 1_000);
    await connected(deps.store, 'w1', 'bob', 'eu-west-1', NOW - 44_000);
    await joined(deps.store, 'r', 'c1', 'alice');
    await joined(deps.store, 'r', 'w1', 'bob', 'eu-west-1');
    const list = vi.spyOn(deps.store, 'presentMembers');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(deps, caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toEqual({
      type: 'presence',
      room: 'r',
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
      ],
      memberCount: 2,
    });
    // One page of every region's members.
    expect(list.mock.calls).toEqual([['r', { limit: 100, after: undefined }]]);
  });

  it('pages a room of 150 members 100 at a time, each page with the count and the next token', async () => {
    // Prepare
    const deps = unitDeps({ presenceTimeoutSeconds: 0 });
    const users = Array.from({ length: 150 }, (_, index) => `u${String(index).padStart(3, '0')}`);
    for (const user of users) await joined(deps.store, 'r', `c-${user}`, user);
    await joined(deps.store, 'r', 'c1', 'alice');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(deps, caller, { action: 'presence', room: 'r' });
    const first = postedFrames(apiMock)[0]?.frame;
    await presence(deps, caller, { action: 'presence', room: 'r', after: String(first?.next) });
    const second = postedFrames(apiMock)[1]?.frame;

    // Assess
    const usersOf = (frame: Record<string, unknown> | undefined) =>
      ((frame?.members ?? []) as { user: string }[]).map((member) => member.user);
    const listed = [...usersOf(first), ...usersOf(second)];
    expect(first?.members).toHaveLength(100);
    expect([first?.memberCount, second?.memberCount]).toEqual([151, 151]);
    expect(typeof first?.next).toBe('string');
    expect(second?.next).toBeUndefined();
    expect(listed).toEqual([...users, 'alice'].sort());
  });

  it('answers bad_request to an after that is not a next token, and lists nothing', async () => {
    // Prepare
    const deps = unitDeps();
    await joined(deps.store, 'r', 'c1', 'alice');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act + Assess
    for (const after of ['not-a-token', Buffer.from('["alice","NOT A REGION"]').toString('base64url')]) {
      await expect(presence(deps, caller, { action: 'presence', room: 'r', after })).rejects.toBeInstanceOf(
        BadRequestError,
      );
    }
    expect(postedFrames(apiMock)).toEqual([]);
  });

  it('leaves out a member of another region not heard from within the presence timeout', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice');
    // bob's region went down 46 s ago; carol's connection item is gone from this replica.
    await connected(deps.store, 'w1', 'bob', 'eu-west-1', NOW - 46_000);
    await joined(deps.store, 'r', 'c1', 'alice');
    await joined(deps.store, 'r', 'w1', 'bob', 'eu-west-1');
    await joined(deps.store, 'r', 'w2', 'carol', 'eu-west-1');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(deps, caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({
      members: [{ user: 'alice', region: 'us-east-1' }],
    });
    expect(apiMock.commandCalls(GetConnectionCommand)).toHaveLength(0);
  });

  it('asks @connections about a stale member of this region: keeps a live one, removes a gone one', async () => {
    // Prepare
    const deps = unitDeps();
    await connected(deps.store, 'c1', 'alice');
    await connected(deps.store, 'quiet', 'dave', 'us-east-1', NOW - 600_000);
    await connected(deps.store, 'dead', 'erin', 'us-east-1', NOW - 600_000);
    for (const [connectionId, user] of [
      ['c1', 'alice'],
      ['quiet', 'dave'],
      ['dead', 'erin'],
    ] as const) {
      await joined(deps.store, 'r', connectionId, user);
    }
    apiMock.on(GetConnectionCommand, { ConnectionId: 'quiet' }).resolves({});
    apiMock
      .on(GetConnectionCommand, { ConnectionId: 'dead' })
      .rejects(
        Object.assign(new Error('Gone'), { name: 'GoneException', $metadata: { httpStatusCode: 410 } }),
      );
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(deps, caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'dave', region: 'us-east-1' },
      ],
    });
    expect(await deps.store.getConnection('dead')).toBeUndefined();
    expect(await deps.store.isMember('r', 'dead')).toBe(false);
    expect(await deps.store.getConnection('quiet')).toBeDefined();
    expect(await deps.store.isMember('r', 'quiet')).toBe(true);
  });

  it('lists every member, with no reads of connections, when the presence timeout is 0', async () => {
    // Prepare
    const deps = unitDeps({ presenceTimeoutSeconds: 0 });
    await joined(deps.store, 'r', 'c1', 'alice');
    await joined(deps.store, 'r', 'w1', 'bob', 'eu-west-1');
    const seen = vi.spyOn(deps.store, 'lastSeenOf');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(deps, caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({ members: [{ user: 'alice' }, { user: 'bob' }] });
    expect(seen).not.toHaveBeenCalled();
  });

  it('is forbidden before join', async () => {
    // Act + Assess
    await expect(presence(unitDeps(), caller, { action: 'presence', room: 'r' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });
});
