import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readStreamBatch } from '../../lambdas/shared/redrive.js';
import type { StreamRecordLike } from '../../lambdas/shared/store/index.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { type LocalDeps, localDeps, useHandlerEnvironment } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { connectEvent, disconnectEvent, lambdaContext, routeEvent, streamEvent } from '../helpers/events.js';
import { createTable } from '../helpers/table.js';

// The real handlers, wired by their middlewares and reading the environment exactly as in Lambda:
// the SDK reaches DynamoDB Local through AWS_ENDPOINT_URL_DYNAMODB, @connections through
// CONNECTIONS_ENDPOINT.
let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let tableName: string;
let streamArn: string;
let eastDeps: LocalDeps;
const savedEnv = { ...process.env };
type Handlers = {
  connect: typeof import('../../lambdas/handlers/connect.js').handler;
  join: typeof import('../../lambdas/handlers/join.js').handler;
  send: typeof import('../../lambdas/handlers/send.js').handler;
  disconnect: typeof import('../../lambdas/handlers/disconnect.js').handler;
  fallback: typeof import('../../lambdas/handlers/default.js').handler;
  health: typeof import('../../lambdas/handlers/health.js').handler;
  fanout: typeof import('../../lambdas/handlers/fanout.js').fanout;
};
let handlers: Handlers;
let streams: DynamoDBStreamsClient;

const roomPartition = async (room: string) => {
  const result = await eastDeps.db.client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ROOM#${room}` },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
};

/** Reads every record of the table's stream so far (DynamoDB Local keeps one shard per table here). */
const streamRecords = async (): Promise<DynamoDBRecord[]> => {
  const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of description.StreamDescription?.Shards ?? []) {
    const iterator = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let next = iterator.ShardIterator;
    for (let polls = 0; next !== undefined && polls < 20; polls++) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: next }));
      if ((page.Records ?? []).length === 0) break;
      for (const record of page.Records ?? [])
        records.push({ ...(record as DynamoDBRecord), eventSourceARN: shard.ShardId });
      next = page.NextShardIterator;
    }
  }
  return records;
};

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  const client = new DynamoDBClient(ddb.clientConfig);
  tableName = await createTable(client);
  const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
  streamArn = table.Table?.LatestStreamArn ?? '';
  useHandlerEnvironment({
    tableName,
    connectionsEndpoint: server.endpoint,
    dynamoDbEndpoint: ddb.endpoint,
    extra: {
      MAX_BODY_BYTES: '64',
    },
  });
  handlers = {
    connect: (await import('../../lambdas/handlers/connect.js')).handler,
    join: (await import('../../lambdas/handlers/join.js')).handler,
    send: (await import('../../lambdas/handlers/send.js')).handler,
    disconnect: (await import('../../lambdas/handlers/disconnect.js')).handler,
    fallback: (await import('../../lambdas/handlers/default.js')).handler,
    health: (await import('../../lambdas/handlers/health.js')).handler,
    fanout: (await import('../../lambdas/handlers/fanout.js')).fanout,
  };
  streams = new DynamoDBStreamsClient(ddb.clientConfig);
  eastDeps = localDeps({ clientConfig: ddb.clientConfig, tableName, connectionsEndpoint: server.endpoint });
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await stopDynamoDbLocal(ddb);
});

beforeEach(() => {
  server.posts.length = 0;
});

describe('Integration: handlers through their middlewares and environment', () => {
  it('connect, join, send, and disconnect through the deployed entry points', async () => {
    // Act
    const context = lambdaContext();
    const connected = await handlers.connect(connectEvent('h-1', 'rita'), context);
    const joined = await handlers.join(
      routeEvent('join', { action: 'join', room: 'live', ref: 'j' }, { connectionId: 'h-1', user: 'rita' }),
      context,
    );
    const sent = await handlers.send(
      routeEvent(
        'send',
        { action: 'send', room: 'live', id: 'one', body: 'hello', ref: 's' },
        { connectionId: 'h-1', user: 'rita' },
      ),
      context,
    );
    const gone = await handlers.disconnect(disconnectEvent('h-1', 'rita'), context);

    // Assess
    expect([connected, joined, sent, gone]).toEqual([
      { statusCode: 200 },
      { statusCode: 200 },
      { statusCode: 200 },
      { statusCode: 200 },
    ]);
    expect(server.framesFor('h-1').map((frame) => frame.type)).toEqual(['joined', 'ack', 'message']);
    expect((await roomPartition('live')).map((item) => String(item.sk).split('#')[0]).sort()).toEqual([
      'ID',
      'MSG',
      'SEQ',
    ]);
  });

  it.each([
    ['not JSON', '{nope', 'bad_request'],
    ['a bad room', { action: 'send', room: 'no spaces', id: 'a', body: 1 }, 'bad_request'],
    ['a bad id', { action: 'send', room: 'bad', id: 'é', body: 1 }, 'bad_request'],
    ['a missing body', { action: 'send', room: 'bad', id: 'a' }, 'bad_request'],
    [
      'an oversized body',
      { action: 'send', room: 'bad', id: 'a', body: 'x'.repeat(100) },
      'payload_too_large',
    ],
  ])('a frame with %s is answered with an error frame and writes nothing', async (_name, body, code) => {
    // Prepare
    const raw = typeof body === 'string';

    // Act
    const result = await handlers.send(
      routeEvent('send', body, { connectionId: 'h-bad', raw }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(server.framesFor('h-bad')).toEqual([expect.objectContaining({ type: 'error', code })]);
    expect(await roomPartition('bad')).toEqual([]);
    expect(await roomPartition('no spaces')).toEqual([]);
  });

  it('a send before join is forbidden and writes nothing', async () => {
    // Act
    await handlers.send(
      routeEvent(
        'send',
        { action: 'send', room: 'members-only', id: 'x', body: 1, ref: 'f' },
        { connectionId: 'h-out' },
      ),
      lambdaContext(),
    );

    // Assess
    expect(server.framesFor('h-out')).toEqual([
      { type: 'error', code: 'forbidden', message: 'join room members-only first', ref: 'f', action: 'send' },
    ]);
    expect(await roomPartition('members-only')).toEqual([]);
  });

  it('$default names the unknown action', async () => {
    // Act
    await handlers.fallback(
      routeEvent('$default', { action: 'dance', ref: 'd' }, { connectionId: 'h-def' }),
      lambdaContext(),
    );

    // Assess
    expect(server.framesFor('h-def')).toEqual([
      expect.objectContaining({ type: 'error', code: 'bad_request', ref: 'd', action: 'dance' }),
    ]);
    expect(server.framesFor('h-def')[0]?.message).toContain('"dance"');
  });

  it('health answers 200 while the table answers', async () => {
    // Act
    const result = await handlers.health({} as never, lambdaContext());

    // Assess
    expect(result).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(String((result as { body: string }).body))).toEqual({
      status: 'ok',
      region: 'us-east-1',
    });
  });
});

describe('Integration: fan-out from the table stream, and the stream redrive reader', () => {
  it("delivers another region's messages and presence to this region's members, and ignores its own", async () => {
    // Prepare: a member in eu-west-1 (the fan-out's region) and traffic written by us-east-1.
    const west = localDeps({
      clientConfig: ddb?.clientConfig ?? {},
      tableName,
      connectionsEndpoint: server.endpoint,
      region: 'eu-west-1',
    });
    const { join } = await import('../../lambdas/handlers/join.js');
    const { send } = await import('../../lambdas/handlers/send.js');
    await join(west, { connectionId: 'w-1', user: 'sam' }, { action: 'join', room: 'world' });
    await join(eastDeps, { connectionId: 'e-1', user: 'tess' }, { action: 'join', room: 'world' });
    await send(
      eastDeps,
      { connectionId: 'e-1', user: 'tess' },
      { action: 'send', room: 'world', id: 'w-msg', body: { hi: 1 } },
    );
    server.posts.length = 0;
    const records = (await streamRecords()).filter((record) =>
      String(record.dynamodb?.Keys?.pk?.S ?? '').startsWith('ROOM#world'),
    );

    // Act
    const response = await handlers.fanout(west, streamEvent(...records));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(server.framesFor('w-1')).toEqual([
      { type: 'presence', room: 'world', event: 'join', user: 'tess', region: 'us-east-1' },
      expect.objectContaining({
        type: 'message',
        room: 'world',
        id: 'w-msg',
        origin: 'us-east-1',
        seq: 1,
        from: 'tess',
        body: { hi: 1 },
      }),
    ]);
    expect(server.framesFor('e-1')).toEqual([]);
  });

  it('re-reads a failed batch by shard and sequence numbers', async () => {
    // Prepare
    const records = await streamRecords();
    const first = records[1];
    const last = records[3];
    const shardId = first?.eventSourceARN ?? '';

    // Act
    const reread = await readStreamBatch(streams, {
      shardId,
      streamArn,
      startSequenceNumber: first?.dynamodb?.SequenceNumber ?? '',
      endSequenceNumber: last?.dynamodb?.SequenceNumber ?? '',
    });

    // Assess
    expect(reread.map((record: StreamRecordLike) => record.dynamodb?.SequenceNumber)).toEqual(
      records.slice(1, 4).map((record) => record.dynamodb?.SequenceNumber),
    );
  });
});
