import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from '../../lambdas/handlers/join.js';
import { send } from '../../lambdas/handlers/send.js';
import {
  CLAIM_GRACE_MS,
  keys,
  type NewMessage,
  storeMessageEventual,
  storeMessageStrong,
} from '../../lambdas/shared/store/index.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { type LocalDeps, localDeps } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { createTable } from '../helpers/table.js';

let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let tableName: string;
let deps: LocalDeps;

const roomItems = async (room: string, prefix: string) => {
  const result = await deps.db.client.send(
    new QueryCommand({
      TableName: deps.db.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `ROOM#${room}`, ':prefix': prefix },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
};

const message = (room: string, id: string, region = 'us-east-1'): NewMessage => ({
  room,
  id,
  from: 'alice',
  body: { text: id },
  region,
});

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  tableName = await createTable(new DynamoDBClient(ddb.clientConfig));
  deps = localDeps({ clientConfig: ddb.clientConfig, tableName, connectionsEndpoint: server.endpoint });
});

afterAll(async () => {
  await server?.close();
  await stopDynamoDbLocal(ddb);
});

describe('Integration: send (eventual mode)', () => {
  it('assigns seqs 1..50 without gaps or repeats to 50 concurrent sends to one room', async () => {
    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        storeMessageEventual(deps.db, message('busy', `m-${index}`), { retentionDays: 30 }),
      ),
    );

    // Assess
    const seqs = outcomes.map((outcome) => outcome.ack.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    expect(outcomes.every((outcome) => !outcome.duplicate && outcome.ack.origin === 'us-east-1')).toBe(true);
    const stored = await roomItems('busy', 'MSG#us-east-1#');
    expect(stored.map((item) => item.seq)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    const [counter] = await roomItems('busy', 'SEQ#');
    expect(counter?.seq).toBe(50);
  });

  it('stores concurrent duplicates of one id once and answers each with the same ack', async () => {
    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        storeMessageEventual(deps.db, message('dup', 'same-id'), {
          retentionDays: 30,
          sleep: () => Promise.resolve(),
        }),
      ),
    );

    // Assess
    expect(outcomes.filter((outcome) => !outcome.duplicate)).toHaveLength(1);
    const acks = new Set(outcomes.map((outcome) => JSON.stringify(outcome.ack)));
    expect(acks.size).toBe(1);
    expect(await roomItems('dup', 'MSG#')).toHaveLength(1);
    const claim = await roomItems('dup', 'ID#same-id');
    expect(claim[0]).toMatchObject({ origin: 'us-east-1', seq: 1 });
  });

  it('keeps one sequence per origin, so two regions never write the same item', async () => {
    // Act
    const east = await storeMessageEventual(deps.db, message('two', 'a', 'us-east-1'), { retentionDays: 30 });
    const west = await storeMessageEventual(deps.db, message('two', 'b', 'eu-west-1'), { retentionDays: 30 });
    const east2 = await storeMessageEventual(deps.db, message('two', 'c', 'us-east-1'), {
      retentionDays: 30,
    });

    // Assess
    expect([east.ack, west.ack, east2.ack].map((ack) => `${ack.origin}:${ack.seq}`)).toEqual([
      'us-east-1:1',
      'eu-west-1:1',
      'us-east-1:2',
    ]);
    expect((await roomItems('two', 'SEQ#')).map((item) => item.sk)).toEqual([
      'SEQ#eu-west-1',
      'SEQ#us-east-1',
    ]);
  });

  it('stores the message item with the body as JSON text, the byTime keys and a TTL', async () => {
    // Act
    const outcome = await storeMessageEventual(
      deps.db,
      { ...message('shape', 'x'), body: [1, { a: 'b' }] },
      {
        retentionDays: 2,
        now: () => 1_700_000_000_123,
      },
    );

    // Assess
    const [item] = await roomItems('shape', 'MSG#');
    expect(outcome.ack).toEqual({ origin: 'us-east-1', seq: 1, ts: 1_700_000_000_123 });
    expect(item).toMatchObject({
      ...keys.message('shape', 'us-east-1', 1),
      body: '[1,{"a":"b"}]',
      region: 'us-east-1',
      gpk: 'ROOM#shape',
      gsk: '1700000000123#us-east-1#000000000001',
      ttl: 1_700_000_000 + 2 * 86_400,
    });
  });

  it('send: acks, delivers to the members of this region including the sender, and not again for a retry', async () => {
    // Prepare
    await join(deps, { connectionId: 'alice-1', user: 'alice' }, { action: 'join', room: 'chat' });
    await join(deps, { connectionId: 'bob-1', user: 'bob' }, { action: 'join', room: 'chat' });
    server.posts.length = 0;

    // Act
    const frame = { action: 'send' as const, room: 'chat', id: 'hello-1', body: 'hi', ref: 'r1' };
    await send(deps, { connectionId: 'alice-1', user: 'alice' }, frame);
    await send(deps, { connectionId: 'alice-1', user: 'alice' }, { ...frame, ref: 'r2' });

    // Assess
    const aliceFrames = server.framesFor('alice-1');
    expect(aliceFrames.filter((posted) => posted.type === 'ack')).toEqual([
      expect.objectContaining({ ref: 'r1', room: 'chat', id: 'hello-1', origin: 'us-east-1', seq: 1 }),
      expect.objectContaining({ ref: 'r2', room: 'chat', id: 'hello-1', origin: 'us-east-1', seq: 1 }),
    ]);
    const acks = aliceFrames.filter((posted) => posted.type === 'ack');
    expect(acks[0]?.ts).toBe(acks[1]?.ts);
    for (const connectionId of ['alice-1', 'bob-1']) {
      const messages = server.framesFor(connectionId).filter((posted) => posted.type === 'message');
      expect(messages).toEqual([
        {
          type: 'message',
          room: 'chat',
          id: 'hello-1',
          origin: 'us-east-1',
          seq: 1,
          from: 'alice',
          body: 'hi',
          ts: acks[0]?.ts,
        },
      ]);
    }
  });
});

describe('Integration: a retry in another region (eventual mode)', () => {
  it('after replication it gets the first ack; before replication it is stored again under the other origin', async () => {
    // Prepare: a second table plays the eu-west-1 replica before replication has caught up.
    const west = localDeps({
      clientConfig: ddb?.clientConfig ?? {},
      tableName: await createTable(new DynamoDBClient(ddb?.clientConfig ?? {})),
      connectionsEndpoint: server.endpoint,
      region: 'eu-west-1',
    });
    const first = await storeMessageEventual(deps.db, message('race', 'retry-me'), { retentionDays: 30 });

    // Act
    // Replicated: the claim is already in the replica the retry reaches (here, the same table).
    const replicated = await storeMessageEventual(deps.db, message('race', 'retry-me', 'eu-west-1'), {
      retentionDays: 30,
    });
    // Not yet replicated: the other replica has no claim, so the retry is accepted there too.
    const early = await storeMessageEventual(west.db, message('race', 'retry-me', 'eu-west-1'), {
      retentionDays: 30,
    });

    // Assess
    expect(replicated).toEqual({ duplicate: true, ack: first.ack });
    expect(early.duplicate).toBe(false);
    expect(early.ack).toMatchObject({ origin: 'eu-west-1', seq: 1 });
    // Both copies keep their own (origin, seq): nothing is overwritten, the message exists twice
    // with the same id. Strong mode closes this window (one claim, strongly consistent).
    expect(first.ack.origin).toBe('us-east-1');
  });
});

describe('Integration: send (strong mode, conditional writes)', () => {
  it('assigns one gap-free global sequence to concurrent sends', async () => {
    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        storeMessageStrong(deps.db, message('strong', `s-${index}`), {
          retentionDays: 30,
          sleep: () => Promise.resolve(),
        }),
      ),
    );

    // Assess
    expect(outcomes.map((outcome) => outcome.ack.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, index) => index + 1),
    );
    expect(outcomes.every((outcome) => outcome.ack.origin === 'global')).toBe(true);
    expect(await roomItems('strong', 'MSG#global#')).toHaveLength(30);
    const [counter] = await roomItems('strong', 'SEQ#global');
    expect(counter?.seq).toBe(30);
    const claims = await roomItems('strong', 'ID#');
    expect(claims.every((claim) => typeof claim.seq === 'number')).toBe(true);
  });

  it('answers concurrent duplicates with the first ack and stores the message once', async () => {
    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        storeMessageStrong(deps.db, message('strong-dup', 'one'), { retentionDays: 30 }),
      ),
    );

    // Assess
    expect(outcomes.filter((outcome) => !outcome.duplicate)).toHaveLength(1);
    expect(new Set(outcomes.map((outcome) => JSON.stringify(outcome.ack))).size).toBe(1);
    expect(await roomItems('strong-dup', 'MSG#')).toHaveLength(1);
  });

  it('takes the next slot when the counter lags behind a stored message', async () => {
    // Prepare: a send stored slot 1 and crashed before raising the counter or recording its seq.
    await storeMessageStrong(deps.db, message('lag', 'first'), { retentionDays: 30 });
    await deps.db.client.send(
      new QueryCommand({
        TableName: deps.db.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ROOM#lag' },
      }),
    );
    const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    await deps.db.client.send(
      new DeleteCommand({ TableName: deps.db.table, Key: keys.counter('lag', 'global') }),
    );

    // Act
    const next = await storeMessageStrong(deps.db, message('lag', 'second'), { retentionDays: 30 });

    // Assess
    expect(next.ack.seq).toBe(2);
    expect((await roomItems('lag', 'MSG#')).map((item) => item.id)).toEqual(['first', 'second']);
  });

  it('a retry finds the message of an interrupted send instead of storing it twice', async () => {
    // Prepare: the first attempt stored its slot but never recorded the seq on its claim.
    const first = await storeMessageStrong(deps.db, message('resume', 'x'), { retentionDays: 30 });
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await deps.db.client.send(
      new UpdateCommand({
        TableName: deps.db.table,
        Key: keys.claim('resume', 'x'),
        UpdateExpression: 'REMOVE seq, origin, ts',
      }),
    );

    // Act: the retry comes after the grace period, so the first attempt is known to have stopped.
    const later = () => Date.now() + CLAIM_GRACE_MS + 1;
    const retry = await storeMessageStrong(deps.db, message('resume', 'x'), {
      retentionDays: 30,
      now: later,
    });

    // Assess: the stored message is adopted (and handed back for delivery), not stored again.
    expect(retry.duplicate).toBe(false);
    expect(retry.ack).toEqual(first.ack);
    expect(await roomItems('resume', 'MSG#')).toHaveLength(1);
    expect((await roomItems('resume', 'ID#x'))[0]).toMatchObject({ seq: first.ack.seq, origin: 'global' });
  });
});
