/**
 * Fault injection on the local stack, one kind at a time, through the real calls that fail:
 * DynamoDB throttling and errors from the proxy the handlers call, `@connections` 429s and 410s,
 * handler crashes, replication lag and pause, connection drops, and the `/_local/faults` API.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import {
  connect,
  eventually,
  type Frame,
  LOCAL_CONTROL,
  startTestStack,
  type TestClient,
  urlFor,
} from './helpers.js';

let stack: LocalStack;
let primary: string;
let secondary: string;
const clients: TestClient[] = [];

const open = async (user: string, region: string): Promise<TestClient> => {
  const client = await connect(await urlFor(stack, stack.endpoints.regions[region] as string, user));
  clients.push(client);
  return client;
};

/** The message items of a room in one region's replica (read straight from DynamoDB Local). */
const stored = async (region: string, room: string): Promise<Record<string, string>[]> => {
  const result = await stack.dynamoDb(region).send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
      ExpressionAttributeValues: { ':pk': { S: `ROOM#${room}` }, ':msg': { S: 'MSG#' } },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).map((item) => ({ sk: item.sk?.S ?? '', id: item.id?.S ?? '' }));
};

/** Opens a client and returns it with the connection id its `$connect` invocation carried. */
const openWithId = async (user: string, region: string): Promise<[TestClient, string]> => {
  const ids: string[] = [];
  const off = stack.onInvocation((record) => {
    const context = (record.event as { requestContext?: { connectionId?: string; eventType?: string } })
      .requestContext;
    if (record.handler === 'connect' && context?.connectionId) ids.push(context.connectionId);
  });
  try {
    const client = await open(user, region);
    const id = ids.at(-1);
    if (!id) throw new Error('no $connect invocation carried a connection id');
    return [client, id];
  } finally {
    off();
  }
};

beforeAll(async () => {
  stack = await startTestStack();
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterEach(() => stack.clearFaults());

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Fault injection: DynamoDB', () => {
  it('answers a fraction of data-plane calls with ProvisionedThroughputExceededException, as DynamoDB does', async () => {
    await stack.injectFaults({ dynamodb: { throttle: 1 } });
    const client = new DynamoDBClient({
      region: primary,
      endpoint: stack.endpoints.dynamoDbProxy,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const key = { pk: { S: 'ROOM#none' }, sk: { S: 'SEQ#none' } };
      await expect(
        client.send(new GetItemCommand({ TableName: stack.tableName, Key: key })),
      ).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
      await stack.injectFaults({ dynamodb: { error: 1 } });
      await expect(
        client.send(new GetItemCommand({ TableName: stack.tableName, Key: key })),
      ).rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
      stack.clearFaults();
      const found = await client.send(new GetItemCommand({ TableName: stack.tableName, Key: key }));
      expect(found.Item).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('fails a send whose every DynamoDB call is throttled, and the same send succeeds once it clears', async () => {
    const alice = await open('alice', primary);
    expect(await alice.request({ action: 'join', room: 'ddb-room' })).toMatchObject({ type: 'joined' });
    const before = stack.faultCounts().dynamodbThrottles;
    await stack.injectFaults({ dynamodb: { throttle: 1, regions: [primary] } });
    const failed = await alice.request({ action: 'send', room: 'ddb-room', id: 'd-1', body: 'x' }, 20_000);
    expect(failed.type).not.toBe('ack');
    expect(stack.faultCounts().dynamodbThrottles).toBeGreaterThan(before);
    expect(await stored(primary, 'ddb-room')).toEqual([]);
    stack.clearFaults();
    expect(await alice.request({ action: 'send', room: 'ddb-room', id: 'd-1', body: 'x' })).toMatchObject({
      type: 'ack',
      seq: 1,
    });
  });
});

describe('Fault injection: @connections', () => {
  it('answers posts with 429 LimitExceededException, and with 410 after dropping the connection', async () => {
    const [bob, connectionId] = await openWithId('bob', primary);
    const api = new ApiGatewayManagementApiClient({
      region: primary,
      endpoint: stack.regions[0]?.callbackUrl as string,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const post = () =>
        api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ n: 1 }) }));
      await stack.injectFaults({ connections: { throttle: 1 } });
      await expect(post()).rejects.toMatchObject({ $metadata: { httpStatusCode: 429 } });
      expect(bob.ws.readyState).toBe(bob.ws.OPEN);
      await stack.injectFaults({ connections: { throttle: 0, gone: 1 } });
      await expect(post()).rejects.toBeInstanceOf(GoneException);
      expect((await bob.closed).code).toBe(1006);
    } finally {
      api.destroy();
    }
  });
});

describe('Fault injection: handler crashes', () => {
  it('crashes a send after it ran: the caller sees an error, the message is stored once, the retry gets its ack', async () => {
    const carol = await open('carol', primary);
    await carol.request({ action: 'join', room: 'crash-room' });
    await stack.injectFaults({ crash: { rate: 1, handlers: ['send'], phase: 'after' } });
    carol.send({ action: 'send', room: 'crash-room', id: 'c-1', body: 'x', ref: 'crash-1' });
    const error = await carol.next((f: Frame) => f.message === 'Internal server error');
    // API Gateway's own error frame, not the handler's answer (lost in the crash): no ref, no type.
    expect(error).toEqual({
      message: 'Internal server error',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    await eventually(async () => (await stored(primary, 'crash-room')).length === 1);
    stack.clearFaults();
    expect(await carol.request({ action: 'send', room: 'crash-room', id: 'c-1', body: 'x' })).toMatchObject({
      type: 'ack',
      origin: primary,
      seq: 1,
    });
    expect(await stored(primary, 'crash-room')).toHaveLength(1);
  });

  it('crashes a send before it ran: nothing is stored', async () => {
    const dave = await open('dave', primary);
    await dave.request({ action: 'join', room: 'crash-before' });
    await stack.injectFaults({ crash: { rate: 1, handlers: ['send'], phase: 'before' } });
    dave.send({ action: 'send', room: 'crash-before', id: 'b-1', body: 'x' });
    await dave.next((f: Frame) => f.message === 'Internal server error');
    expect(await stored(primary, 'crash-before')).toEqual([]);
    expect(stack.faultCounts().crashes).toBeGreaterThan(0);
  });
});

describe('Fault injection: replication', () => {
  it('holds writes while paused and applies them, in order, when the pause ends', async () => {
    const erin = await open('erin', primary);
    await erin.request({ action: 'join', room: 'pause-room' });
    await eventually(async () => stack.replicationIdle());
    await stack.injectFaults({ replication: { paused: true } });
    for (const id of ['p-1', 'p-2', 'p-3'])
      expect(await erin.request({ action: 'send', room: 'pause-room', id, body: id })).toMatchObject({
        type: 'ack',
      });
    // The replicator has read the writes (its queue is not empty) but applies none while paused.
    await eventually(async () => !stack.replicationIdle());
    expect(await stored(secondary, 'pause-room')).toEqual([]);
    await stack.injectFaults({ replication: { paused: false } });
    const replicated = await eventually(async () => {
      const items = await stored(secondary, 'pause-room');
      return items.length === 3 ? items : undefined;
    });
    expect(replicated.map((i) => i.id)).toEqual(['p-1', 'p-2', 'p-3']);
  });

  it('delays each write on a link by at least the injected lag', async () => {
    const lagMs = 1_500;
    const frank = await open('frank', primary);
    await frank.request({ action: 'join', room: 'lag-room' });
    await stack.injectFaults({ replication: { links: { [`${primary}>${secondary}`]: lagMs } } });
    const sent = Date.now();
    expect(await frank.request({ action: 'send', room: 'lag-room', id: 'l-1', body: 'x' })).toMatchObject({
      type: 'ack',
    });
    await eventually(async () => (await stored(secondary, 'lag-room')).length === 1, 20_000, 50);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(lagMs);
  });
});

describe('Fault injection: connection drops and the HTTP API', () => {
  it('drops the requested number of connections without a close frame; the others stay open', async () => {
    const members = await Promise.all(['g1', 'g2', 'g3', 'g4'].map((u) => open(u, secondary)));
    await Promise.all(members.map((m) => m.request({ action: 'ping' })));
    const open0 = members.filter((m) => m.ws.readyState === m.ws.OPEN).length;
    const response = await fetch(`${stack.endpoints.web}_local/faults`, {
      method: 'POST',
      headers: LOCAL_CONTROL,
      body: JSON.stringify({ drop: { region: secondary, count: 2 } }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ dropped: 2 });
    await eventually(async () => members.filter((m) => m.ws.readyState === m.ws.CLOSED).length === 2);
    expect(open0).toBe(4);
    const closes = await Promise.all(
      members.filter((m) => m.ws.readyState === m.ws.CLOSED).map((m) => m.closed),
    );
    expect(closes.map((c) => c.code)).toEqual([1006, 1006]);
    const survivors = members.filter((m) => m.ws.readyState === m.ws.OPEN);
    expect(survivors).toHaveLength(2);
    for (const survivor of survivors)
      expect(await survivor.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('sets, reports and clears standing faults over HTTP, and refuses a bad body', async () => {
    const url = `${stack.endpoints.web}_local/faults`;
    const set = await fetch(url, {
      method: 'POST',
      headers: LOCAL_CONTROL,
      body: JSON.stringify({ connections: { throttle: 0.05 }, replication: { lagMs: 200 } }),
    });
    expect(set.status).toBe(200);
    const current = (await (await fetch(url)).json()) as { faults: Record<string, unknown> };
    expect(current.faults).toMatchObject({
      connections: { throttle: 0.05, gone: 0 },
      replication: { lagMs: 200, paused: false },
    });
    expect(
      (await fetch(url, { method: 'POST', headers: LOCAL_CONTROL, body: '{"dynamodb":{"throttle":2}}' }))
        .status,
    ).toBe(400);
    expect(
      (await fetch(url, { method: 'POST', headers: LOCAL_CONTROL, body: '{"nonsense":true}' })).status,
    ).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: LOCAL_CONTROL, body: 'not json' })).status).toBe(400);
    const cleared = await fetch(url, { method: 'DELETE', headers: LOCAL_CONTROL });
    expect(((await cleared.json()) as { faults: unknown }).faults).toEqual({});
  });
});
