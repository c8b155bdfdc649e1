import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { history } from '../../../lambdas/handlers/history.js';
import { join } from '../../../lambdas/handlers/join.js';
import { leave } from '../../../lambdas/handlers/leave.js';
import { ping } from '../../../lambdas/handlers/ping.js';
import { presence } from '../../../lambdas/handlers/presence.js';
import { send } from '../../../lambdas/handlers/send.js';
import type { HandlerDeps } from '../../../lambdas/shared/deps.js';
import { DEFAULT_LIMITS, type Limits } from '../../../lambdas/shared/env.js';
import { RateLimitedError } from '../../../lambdas/shared/errors.js';
import { limited, type RouteLogic } from '../../../lambdas/shared/route.js';
import type { Store } from '../../../lambdas/shared/store/index.js';
import type { ClientAction, ClientFrameOf } from '../../../protocol/index.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

// Each route's rate limit on the in-memory store: the routes behind `limited`, as `defineRoute`
// runs them, and ping, which keeps its bucket in its heartbeat. The entry points' order of table
// calls: rate-limit-entry-points.test.ts.
const apiMock = mockClient(ApiGatewayManagementApiClient);

afterEach(() => {
  apiMock.reset();
  vi.restoreAllMocks();
});

const caller = { connectionId: 'c1', user: 'alice' };

/** Deps on a fresh memory store with `c1` connected and in room `r`, a clock, and `limits`. */
const prepare = async (limits: Partial<Limits>) => {
  let clock = NOW;
  const deps: HandlerDeps = { ...unitDeps({ limits }), now: () => clock };
  await deps.store.putConnection({ ...caller, region: 'us-east-1', now: NOW });
  await deps.store.addMembership({ room: 'r', ...caller, region: 'us-east-1', now: NOW });
  apiMock.on(PostToConnectionCommand).resolves({});
  return { deps, advance: (ms: number) => (clock += ms) };
};

/** One route, the frame of its `n`th request, and what the table holds that the route would change. */
interface Case<A extends ClientAction> {
  action: A;
  logic: RouteLogic<A, Store>;
  frame: (n: number) => ClientFrameOf<A>;
  words: string;
  state: (store: Store) => Promise<unknown>;
}

const rooms = async (store: Store) =>
  Promise.all(['r', 'j0', 'j1', 'j2', 'j3'].map((room) => store.isMember(room, 'c1')));

const CASES: Case<ClientAction>[] = [
  {
    action: 'join',
    logic: join,
    frame: (n) => ({ action: 'join', room: `j${n}`, ref: `f${n}` }),
    words: 'joins',
    state: rooms,
  },
  {
    action: 'leave',
    logic: leave,
    // Leaving r, then rooms it is not in: a refused leave of r would have to leave it in r.
    frame: (n) => ({ action: 'leave', room: n === 2 ? 'r' : `j${n}`, ref: `f${n}` }),
    words: 'leaves',
    state: rooms,
  },
  {
    action: 'send',
    logic: send,
    frame: (n) => ({ action: 'send', room: 'r', id: `m${n}`, body: n, ref: `f${n}` }),
    words: 'sends',
    state: (store) => store.roomCursor('r'),
  },
  {
    action: 'history',
    logic: history,
    frame: (n) => ({ action: 'history', room: 'r', ref: `f${n}` }),
    words: 'history requests',
    state: rooms,
  },
  {
    action: 'presence',
    logic: presence,
    frame: (n) => ({ action: 'presence', room: 'r', ref: `f${n}` }),
    words: 'presence requests',
    state: rooms,
  },
] as Case<ClientAction>[];

describe('Rate limits: every route behind defineRoute', () => {
  it.each(CASES.map((c) => [c.action, c] as const))(
    '%s: allows the burst, refuses the next with rate_limited naming the rate and changing nothing, then refills',
    async (action, route) => {
      // Prepare
      const { deps, advance } = await prepare({ [`${action}RatePerSecond`]: 1, [`${action}Burst`]: 2 });
      const run = limited(action, route.logic);
      await run(deps, caller, route.frame(0));
      await run(deps, caller, route.frame(1));
      const before = await route.state(deps.store);
      const repliesBefore = postedFrames(apiMock).length;

      // Act
      const refused = await run(deps, caller, route.frame(2)).catch((error: unknown) => error);
      const after = await route.state(deps.store);
      const repliesAfter = postedFrames(apiMock).length;
      advance(1_000);
      const refilled = await run(deps, caller, route.frame(3)).then(
        () => 'allowed',
        (error: unknown) => error,
      );

      // Assess
      expect(refused).toBeInstanceOf(RateLimitedError);
      expect((refused as RateLimitedError).message).toBe(
        `at most 1 ${route.words} per second (bursts of 2); retry later`,
      );
      expect(after).toEqual(before);
      expect(repliesAfter).toBe(repliesBefore);
      expect(refilled).toBe('allowed');
    },
  );

  it("spends only its own action's bucket: a spent join burst leaves history and send whole", async () => {
    // Prepare
    const { deps } = await prepare({ joinBurst: 1, historyBurst: 1, sendBurst: 1 });
    await limited('join', join)(deps, caller, { action: 'join', room: 'j0' });
    const refusedJoin = limited('join', join)(deps, caller, { action: 'join', room: 'j1' });

    // Act
    const historyRun = limited('history', history)(deps, caller, { action: 'history', room: 'r' });
    const sendRun = limited('send', send)(deps, caller, { action: 'send', room: 'r', id: 'm', body: 1 });

    // Assess
    await expect(refusedJoin).rejects.toBeInstanceOf(RateLimitedError);
    await expect(historyRun).resolves.toBeUndefined();
    await expect(sendRun).resolves.toMatchObject({ duplicate: false });
  });

  it('by default lets a reconnecting SDK re-join every room at once, and resume each once more', async () => {
    // Prepare
    const { deps } = await prepare({});
    const fresh = { connectionId: 'c2', user: 'bob' };
    await deps.store.putConnection({ ...fresh, region: 'us-east-1', now: NOW });
    const rejoin = limited('join', join);
    const everyRoom = () =>
      Promise.all(
        Array.from({ length: DEFAULT_LIMITS.maxRoomsPerConnection }, (_, n) =>
          rejoin(deps, fresh, { action: 'join', room: `room-${n}`, since: {} }).then(
            () => 'joined',
            (error: unknown) => error,
          ),
        ),
      );

    // Act
    const first = await everyRoom();
    const again = await everyRoom();

    // Assess
    expect([...first, ...again]).toEqual(
      Array.from({ length: 2 * DEFAULT_LIMITS.maxRoomsPerConnection }, () => 'joined'),
    );
  });
});

describe('Rate limits: ping, in its heartbeat write', () => {
  const pings = async (deps: HandlerDeps, count: number) => {
    const results: unknown[] = [];
    for (let n = 0; n < count; n++) {
      results.push(
        await ping(deps, caller, { action: 'ping', ref: `p${n}` }).then(
          () => 'pong',
          (error: unknown) => error,
        ),
      );
    }
    return results;
  };

  it('refuses a ping beyond the burst with rate_limited and records no lastSeen for it', async () => {
    // Prepare
    const { deps, advance } = await prepare({ pingRatePerSecond: 1, pingBurst: 2 });
    const take = vi.spyOn(deps.store, 'takeToken');
    advance(5_000);
    await pings(deps, 2);
    advance(500);

    // Act
    const [refused] = await pings(deps, 1);
    const seen = (await deps.store.getConnection('c1'))?.lastSeen;

    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).message).toBe(
      'at most 1 pings per second (bursts of 2); retry later',
    );
    expect(seen).toBe(NOW + 5_000);
    expect(postedFrames(apiMock).map((posted) => posted.frame.type)).toEqual(['pong', 'pong']);
    // One take per ping, which is also its heartbeat: no write of its own for the limit.
    expect(take).toHaveBeenCalledTimes(3);
    expect(take.mock.calls.map((call) => [call[1], call[4]])).toEqual([
      ['ping', { seen: true }],
      ['ping', { seen: true }],
      ['ping', { seen: true }],
    ]);
  });

  it('with the presence timeout 0 writes nothing and so limits nothing', async () => {
    // Prepare
    const { deps } = await prepare({ pingRatePerSecond: 1, pingBurst: 1 });
    deps.config.presenceTimeoutSeconds = 0;
    const take = vi.spyOn(deps.store, 'takeToken');

    // Act
    const results = await pings(deps, 3);

    // Assess
    expect(results).toEqual(['pong', 'pong', 'pong']);
    expect(take).not.toHaveBeenCalled();
  });

  it('still answers pong when the heartbeat write fails for another reason', async () => {
    // Prepare
    const { deps } = await prepare({ pingBurst: 1 });
    vi.spyOn(deps.store, 'takeToken').mockRejectedValue(
      Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
    );

    // Act
    const results = await pings(deps, 2);

    // Assess
    expect(results).toEqual(['pong', 'pong']);
  });
});
