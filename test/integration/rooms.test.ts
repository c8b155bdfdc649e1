import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { disconnect } from '../../lambdas/handlers/disconnect.js';
import { history } from '../../lambdas/handlers/history.js';
import { join } from '../../lambdas/handlers/join.js';
import { leave } from '../../lambdas/handlers/leave.js';
import { presence } from '../../lambdas/handlers/presence.js';
import { send } from '../../lambdas/handlers/send.js';
import { deliver } from '../../lambdas/shared/delivery.js';
import { ForbiddenError } from '../../lambdas/shared/errors.js';
import { putConnection, roomCursor, storeMessageEventual } from '../../lambdas/shared/store/index.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { type LocalDeps, localDeps } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { disconnectEvent } from '../helpers/events.js';
import { createTable } from '../helpers/table.js';

let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let deps: LocalDeps;
let clock = 1_700_000_000_000;

const partition = async (pk: string) => {
  const result = await deps.db.client.send(
    new QueryCommand({
      TableName: deps.db.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
};

const connectAs = async (connectionId: string, user: string) => {
  await putConnection(deps.db, { connectionId, user, region: deps.region, now: clock });
  return { connectionId, user };
};

/** Stores messages as if sent from `region` (another region's writes arrive by replication). */
const storeFrom = async (room: string, region: string, ids: string[]) => {
  for (const id of ids) {
    clock += 1_000;
    await storeMessageEventual(
      deps.db,
      { room, id, from: 'carol', body: id, region },
      { retentionDays: 30, now: () => clock },
    );
  }
};

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  const tableName = await createTable(new DynamoDBClient(ddb.clientConfig));
  deps = {
    ...localDeps({ clientConfig: ddb.clientConfig, tableName, connectionsEndpoint: server.endpoint }),
    now: () => clock,
  };
});

afterAll(async () => {
  await server?.close();
  await stopDynamoDbLocal(ddb);
});

beforeEach(() => {
  server.posts.length = 0;
  server.gone.clear();
  server.throttle.clear();
});

describe('Integration: join, cursor and resume', () => {
  it('answers joined with the cursor per origin, then replays exactly the missed messages per origin in seq order', async () => {
    // Prepare
    await storeFrom('resume', 'us-east-1', ['e1', 'e2', 'e3', 'e4']);
    await storeFrom('resume', 'eu-west-1', ['w1', 'w2', 'w3']);
    const caller = await connectAs('c-resume', 'dave');

    // Act
    await join(deps, caller, {
      action: 'join',
      room: 'resume',
      ref: 'j1',
      since: { 'us-east-1': 2, 'eu-west-1': 0 },
    });

    // Assess
    const frames = server.framesFor('c-resume');
    expect(frames[0]).toEqual({
      type: 'joined',
      ref: 'j1',
      room: 'resume',
      cursor: { 'us-east-1': 4, 'eu-west-1': 3 },
      members: [{ user: 'dave', region: 'us-east-1' }],
      memberCount: 1,
      region: 'us-east-1',
    });
    const replayed = frames.slice(1).map((frame) => `${frame.origin}:${frame.seq}:${frame.id}`);
    expect(replayed.filter((entry) => entry.startsWith('us-east-1'))).toEqual([
      'us-east-1:3:e3',
      'us-east-1:4:e4',
    ]);
    expect(replayed.filter((entry) => entry.startsWith('eu-west-1'))).toEqual([
      'eu-west-1:1:w1',
      'eu-west-1:2:w2',
      'eu-west-1:3:w3',
    ]);
    expect(replayed).toHaveLength(5);
  });

  it('replays every message of an origin the client has not seen, across query pages, maxReplay per join', async () => {
    // Prepare: enough messages (each ~2 KiB) that one Query page cannot hold them all.
    const big = 'x'.repeat(2_048);
    for (let index = 0; index < 600; index++) {
      await storeMessageEventual(
        deps.db,
        { room: 'paged', id: `p${index}`, from: 'carol', body: big, region: 'us-east-1' },
        { retentionDays: 30 },
      );
    }
    const caller = await connectAs('c-paged', 'erin');

    // Act: join, then join again past what was replayed while joined says more (as the SDK does).
    const mores: unknown[] = [];
    let since: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      const before = server.framesFor('c-paged').length;
      await join(deps, caller, { action: 'join', room: 'paged', since });
      const frames = server.framesFor('c-paged').slice(before);
      mores.push(frames[0]?.more);
      const last = frames.filter((frame) => frame.type === 'message').at(-1);
      if (last !== undefined) since = { 'us-east-1': Number(last.seq) };
      if (frames[0]?.more !== true) break;
    }

    // Assess: 500 (the default maxReplay), then the 100 left.
    const seqs = server
      .framesFor('c-paged')
      .filter((frame) => frame.type === 'message')
      .map((frame) => frame.seq);
    expect(mores).toEqual([true, undefined]);
    expect(seqs).toEqual(Array.from({ length: 600 }, (_, index) => index + 1));
  });

  it('without since, answers joined and replays nothing; with a current cursor, replays nothing', async () => {
    // Prepare
    await storeFrom('quiet', 'us-east-1', ['q1', 'q2']);
    const caller = await connectAs('c-quiet', 'fay');

    // Act
    await join(deps, caller, { action: 'join', room: 'quiet' });
    await join(deps, caller, { action: 'join', room: 'quiet', since: { 'us-east-1': 2 } });

    // Assess
    expect(server.framesFor('c-quiet').map((frame) => frame.type)).toEqual(['joined', 'joined']);
    expect(await roomCursor(deps.db, 'quiet')).toEqual({ 'us-east-1': 2 });
  });

  it('announces a join to the other local members only', async () => {
    // Prepare
    const first = await connectAs('c-p1', 'gus');
    const second = await connectAs('c-p2', 'hal');
    await join(deps, first, { action: 'join', room: 'announce' });
    server.posts.length = 0;

    // Act
    await join(deps, second, { action: 'join', room: 'announce' });

    // Assess
    expect(server.framesFor('c-p1')).toEqual([
      { type: 'presence', room: 'announce', event: 'join', user: 'hal', region: 'us-east-1' },
    ]);
    expect(server.framesFor('c-p2').map((frame) => frame.type)).toEqual(['joined']);
  });
});

describe('Integration: history', () => {
  it('pages by time with before and limit, oldest first', async () => {
    // Prepare: ts 1000 ms apart, interleaving two origins.
    const caller = await connectAs('c-hist', 'ivy');
    await join(deps, caller, { action: 'join', room: 'hist' });
    const start = clock;
    await storeFrom('hist', 'us-east-1', ['h1']);
    await storeFrom('hist', 'eu-west-1', ['h2']);
    await storeFrom('hist', 'us-east-1', ['h3', 'h4']);
    await storeFrom('hist', 'eu-west-1', ['h5']);
    server.posts.length = 0;

    // Act
    await history(deps, caller, { action: 'history', room: 'hist', ref: 'all' });
    await history(deps, caller, {
      action: 'history',
      room: 'hist',
      ref: 'page',
      limit: 2,
      before: start + 4_000,
    });

    // Assess
    const [all, page] = server.framesFor('c-hist');
    expect(all).toMatchObject({ type: 'history', ref: 'all', room: 'hist' });
    expect(((all?.messages ?? []) as { id: string }[]).map((message) => message.id)).toEqual([
      'h1',
      'h2',
      'h3',
      'h4',
      'h5',
    ]);
    expect(((page?.messages ?? []) as { id: string }[]).map((message) => message.id)).toEqual(['h2', 'h3']);
  });

  it('pages back through messages that share a ts without skipping or repeating one', async () => {
    // Prepare: seven messages, two origins, in three ts groups of 2, 3 and 2 (same millisecond).
    const caller = await connectAs('c-same', 'kim');
    await join(deps, caller, { action: 'join', room: 'same-ts' });
    const stored: string[] = [];
    for (const [group, ids] of [
      ['us-east-1', ['s1', 's2']],
      ['eu-west-1', ['s3']],
      ['us-east-1', ['s4']],
      ['eu-west-1', ['s5', 's6']],
      ['us-east-1', ['s7']],
    ] as const) {
      for (const id of ids) {
        const ts = clock + (stored.length < 2 ? 1_000 : stored.length < 5 ? 2_000 : 3_000);
        await storeMessageEventual(
          deps.db,
          { room: 'same-ts', id, from: 'kim', body: id, region: group },
          { retentionDays: 30, now: () => ts },
        );
        stored.push(id);
      }
    }
    clock += 3_000;
    server.posts.length = 0;

    // Act: page back four at a time, as the SDK does, with before = the oldest ts received.
    const seen: string[][] = [];
    let before: number | undefined;
    for (let page = 0; page < 10; page += 1) {
      await history(deps, caller, { action: 'history', room: 'same-ts', ref: `p${page}`, limit: 4, before });
      const reply = server.framesFor('c-same').at(-1) as { messages: { id: string; ts: number }[] };
      if (reply.messages.length === 0) break;
      seen.push(reply.messages.map((message) => message.id));
      before = reply.messages[0]?.ts;
    }

    // Assess: every message once; a page ends between ts groups, or is one whole group.
    expect(seen.flat().sort()).toEqual([...stored].sort());
    expect(seen.map((page) => page.length)).toEqual([2, 3, 2]);
  });

  it('refuses history, presence and send to a connection that has not joined, writing nothing', async () => {
    // Prepare
    const caller = await connectAs('c-out', 'jay');

    // Act
    const attempts = await Promise.allSettled([
      history(deps, caller, { action: 'history', room: 'closed' }),
      presence(deps, caller, { action: 'presence', room: 'closed' }),
      send(deps, caller, { action: 'send', room: 'closed', id: 'x', body: 1 }),
    ]);

    // Assess
    for (const attempt of attempts) {
      expect(attempt.status).toBe('rejected');
      expect((attempt as PromiseRejectedResult).reason).toBeInstanceOf(ForbiddenError);
    }
    expect(await partition('ROOM#closed')).toEqual([]);
  });
});

describe('Integration: membership and cleanup', () => {
  it('join writes both membership items; leave removes them and tells the others', async () => {
    // Prepare
    const kim = await connectAs('c-kim', 'kim');
    const lee = await connectAs('c-lee', 'lee');
    await join(deps, kim, { action: 'join', room: 'club' });
    await join(deps, lee, { action: 'join', room: 'club' });
    expect((await partition('ROOM#club')).map((item) => item.sk).sort()).toEqual([
      'MEMBER#us-east-1#c-kim',
      'MEMBER#us-east-1#c-lee',
      'PRESENT#kim\u0001us-east-1',
      'PRESENT#lee\u0001us-east-1',
    ]);
    expect((await partition('CONN#c-kim')).map((item) => item.sk).sort()).toEqual(['META', 'ROOM#club']);
    server.posts.length = 0;

    // Act
    await leave(deps, kim, { action: 'leave', room: 'club', ref: 'bye' });

    // Assess
    expect(server.framesFor('c-kim')).toEqual([{ type: 'left', ref: 'bye', room: 'club' }]);
    expect(server.framesFor('c-lee')).toEqual([
      { type: 'presence', room: 'club', event: 'leave', user: 'kim', region: 'us-east-1' },
    ]);
    expect((await partition('ROOM#club')).map((item) => item.sk)).toEqual([
      'MEMBER#us-east-1#c-lee',
      'PRESENT#lee\u0001us-east-1',
    ]);
    expect((await partition('CONN#c-kim')).map((item) => item.sk)).toEqual(['META']);
  });

  it('presence lists every member once per user and region', async () => {
    // Prepare
    const mo = await connectAs('c-mo-1', 'mo');
    const mo2 = await connectAs('c-mo-2', 'mo');
    await join(deps, mo, { action: 'join', room: 'pres' });
    await join(deps, mo2, { action: 'join', room: 'pres' });
    server.posts.length = 0;

    // Act
    await presence(deps, mo, { action: 'presence', room: 'pres', ref: 'p' });

    // Assess
    expect(server.framesFor('c-mo-1')).toEqual([
      {
        type: 'presence',
        ref: 'p',
        room: 'pres',
        members: [{ user: 'mo', region: 'us-east-1' }],
        memberCount: 1,
      },
    ]);
  });

  it('disconnect removes the connection and all its memberships and tells the rooms', async () => {
    // Prepare
    const ned = await connectAs('c-ned', 'ned');
    const oli = await connectAs('c-oli', 'oli');
    for (const room of ['r1', 'r2']) await join(deps, ned, { action: 'join', room });
    await join(deps, oli, { action: 'join', room: 'r1' });
    server.posts.length = 0;

    // Act
    await disconnect(deps, disconnectEvent('c-ned', 'ned'));

    // Assess
    expect(await partition('CONN#c-ned')).toEqual([]);
    expect((await partition('ROOM#r1')).map((item) => item.sk)).toEqual([
      'MEMBER#us-east-1#c-oli',
      'PRESENT#oli\u0001us-east-1',
    ]);
    expect(await partition('ROOM#r2')).toEqual([]);
    expect(server.framesFor('c-oli')).toEqual([
      { type: 'presence', room: 'r1', event: 'leave', user: 'ned', region: 'us-east-1' },
    ]);
  });

  it('a 410 from @connections removes the stale connection and its memberships', async () => {
    // Prepare
    const pat = await connectAs('c-pat', 'pat');
    const quinn = await connectAs('c-quinn', 'quinn');
    await join(deps, pat, { action: 'join', room: 'stale' });
    await join(deps, quinn, { action: 'join', room: 'stale' });
    server.gone.add('c-quinn');

    // Act
    await send(deps, pat, { action: 'send', room: 'stale', id: 'm1', body: 'anyone?' });

    // Assess
    expect(await partition('CONN#c-quinn')).toEqual([]);
    expect((await partition('ROOM#stale')).filter((item) => String(item.sk).startsWith('MEMBER#'))).toEqual([
      expect.objectContaining({ connectionId: 'c-pat' }),
    ]);
  });

  it('retries a throttled connection and then delivers', async () => {
    // Prepare
    server.throttle.set('c-slow', 2);

    // Act
    const report = await deliver(deps, { type: 'pong', ts: 1 }, ['c-slow']);

    // Assess
    expect(report.delivered).toEqual(['c-slow']);
    expect(server.framesFor('c-slow')).toEqual([{ type: 'pong', ts: 1 }]);
  });
});
