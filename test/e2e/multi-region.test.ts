/**
 * The two regions together on the local stack: a stream batch that keeps failing (retried,
 * bisected, sent to the on-failure DLQ, then replayed by the redrive), and a region outage with
 * failover through the global endpoint and a recovery that loses nothing; presence leaving out the
 * members of a region in outage.
 */

import { join } from 'node:path';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../../local/lambda-service.js';
import type { LocalStack } from '../../local/stack.js';
import { ROOT, runProcess } from '../helpers/process.js';
import {
  connect,
  eventually,
  type Frame,
  LOCAL_CONTROL,
  refusedStatus,
  startTestStack,
  type TestClient,
  urlFor,
} from './helpers.js';

/** The presence timeout of this file's stack, in seconds. */
const PRESENCE_TIMEOUT_S = 5;

let stack: LocalStack;
let primary: string;
let secondary: string;
const clients: TestClient[] = [];

const open = async (user: string, endpoint: string): Promise<TestClient> => {
  const client = await connect(await urlFor(stack, endpoint, user));
  clients.push(client);
  return client;
};
const isMessage = (id: string) => (f: Frame) => f.type === 'message' && f.id === id;

/** Runs `npm run redrive -- <args>` (the script itself, under the project's Node) and parses its JSON. */
const runRedrive = async (args: string[]): Promise<{ code: number | null; result: unknown }> => {
  const { code, stdout, stderr } = await runProcess(process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'scripts', 'redrive.ts'),
    ...args,
  ]);
  try {
    return { code, result: JSON.parse(stdout) };
  } catch {
    throw new Error(`redrive printed no JSON (exit ${code}): ${stdout}${stderr}`);
  }
};

/** Message items of a room in one region's replica. */
const storedIds = async (region: string, room: string): Promise<string[]> => {
  const result = await stack.dynamoDb(region).send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
      ExpressionAttributeValues: { ':pk': { S: `ROOM#${room}` }, ':msg': { S: 'MSG#' } },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).map((item) => item.id?.S as string).sort();
};

beforeAll(async () => {
  // One local member inline, the rest through the SQS delivery queue: this file plays the SQS
  // mapping too. A short presence timeout, for the presence test at the end.
  stack = await startTestStack({
    context: { fanoutInlineMax: 1, presenceTimeoutSeconds: PRESENCE_TIMEOUT_S },
  });
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Local stack: stream failures', () => {
  it('retries a failing stream batch, bisects it, sends the bad record to the DLQ, and `npm run redrive` replays it once', async () => {
    const alice = await open('alice', stack.endpoints.regions[primary] as string);
    const bob = await open('bob', stack.endpoints.regions[secondary] as string);
    await alice.request({ action: 'join', room: 'dlq-room' });
    await bob.request({ action: 'join', room: 'dlq-room' });

    const hasBad = (event: unknown): boolean =>
      (
        (event as { Records?: { dynamodb?: { NewImage?: Record<string, { S?: string }> } }[] }).Records ?? []
      ).some((r) => r.dynamodb?.NewImage?.sk?.S?.startsWith('MSG#') && r.dynamodb.NewImage.id?.S === 'bad-1');
    // The fault hook holds the fan-out until all three messages are in the replica, so they come
    // in one batch, then fails every invocation that carries bad-1 as if the handler threw.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fanouts: { size: number; bad: boolean; ok: boolean }[] = [];
    const off = stack.onInvocation((record: InvocationRecord) => {
      if (record.region !== secondary || record.handler !== 'fanout') return;
      const size = (record.event as { Records?: unknown[] }).Records?.length ?? 0;
      fanouts.push({ size, bad: hasBad(record.event), ok: record.ok });
    });
    stack.setFault(secondary, 'fanout', async (event) => {
      await gate;
      if (hasBad(event)) throw new Error('injected fault');
    });
    try {
      for (const id of ['good-1', 'bad-1', 'good-2']) {
        expect(await alice.request({ action: 'send', room: 'dlq-room', id, body: id })).toMatchObject({
          type: 'ack',
        });
      }
      await eventually(async () => (await storedIds(secondary, 'dlq-room')).length === 3);
      release();
      await bob.next(isMessage('good-1'));
      await bob.next(isMessage('good-2'));
      const dlqUrl = Object.entries(stack.regions[1]?.queues ?? {}).find(([id]) =>
        id.startsWith('FanOutDeadLetterQueue'),
      )?.[1];
      expect(dlqUrl).toBeDefined();
      const sqs = stack.sqs();
      const depth = async (): Promise<number> => {
        const attributes = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: dlqUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        return Number(attributes.Attributes?.ApproximateNumberOfMessages);
      };
      await eventually(async () => (await depth()) === 1);

      // A failed batch of several records was split until bad-1 was alone, then bad-1 alone was
      // tried once and retried MaximumRetryAttempts (5) times before it went to the DLQ.
      expect(fanouts.some((f) => f.bad && !f.ok && f.size > 1)).toBe(true);
      expect(fanouts.filter((f) => f.bad && !f.ok && f.size === 1)).toHaveLength(6);
      expect(bob.frames.some(isMessage('bad-1'))).toBe(false);

      stack.setFault(secondary, 'fanout', undefined);
      // The operator's command, as the runbook gives it, run twice: the second finds nothing.
      const redrive = ['--region', secondary, '--queue', 'stream', '--endpoint', stack.endpoints.global];
      const first = await runRedrive(redrive);
      expect(first).toMatchObject({
        code: 0,
        result: { kind: 'stream', received: 1, replayed: 1, failed: 0 },
      });
      await bob.next(isMessage('bad-1'));
      expect(await depth()).toBe(0);
      const second = await runRedrive(redrive);
      expect(second).toMatchObject({ code: 0, result: { received: 0, replayed: 0, failed: 0 } });
      await alice.request({ action: 'send', room: 'dlq-room', id: 'after-redrive', body: 'after' });
      await bob.next(isMessage('after-redrive'));
      expect(bob.frames.filter(isMessage('bad-1'))).toHaveLength(1);
    } finally {
      off();
      release();
      stack.setFault(secondary, 'fanout', undefined);
    }
  });
});

describe('Local stack: the delivery queue', () => {
  it('delivers to a room with more local members than FANOUT_INLINE_MAX through SQS', async () => {
    const endpoint = stack.endpoints.regions[primary] as string;
    const members = [
      await open('quinn', endpoint),
      await open('rita', endpoint),
      await open('sam', endpoint),
    ];
    for (const member of members) await member.request({ action: 'join', room: 'queue-room' });
    const deliveries: InvocationRecord[] = [];
    const off = stack.onInvocation((record) => {
      if (record.region === primary && record.handler === 'delivery') deliveries.push(record);
    });
    try {
      await members[0]?.request({ action: 'send', room: 'queue-room', id: 'q-1', body: 'queued' });
      for (const member of members) await member.next(isMessage('q-1'));
      // The invocation is reported once the handler returns, just after its frames went out.
      await eventually(async () => deliveries.some((d) => d.ok));
      const event = deliveries[0]?.event as { Records?: Record<string, unknown>[] } | undefined;
      const record = event?.Records?.[0];
      expect(record).toMatchObject({ eventSource: 'aws:sqs', awsRegion: primary });
      expect(typeof record?.body).toBe('string');
    } finally {
      off();
    }
  });
});

describe('Local stack: region outage', () => {
  it('drops, refuses and fails over during an outage, then catches up with nothing lost', async () => {
    const control = stack.endpoints.control;
    const regionsDoc = async () =>
      (await (await fetch(control)).json()) as {
        routedTo: string;
        regions: { name: string; state: string; replicationLagMs: number }[];
      };
    expect((await regionsDoc()).routedTo).toBe(primary);

    const alice = await open('alice', stack.endpoints.global);
    const joinedA = await alice.request({ action: 'join', room: 'outage-room' });
    expect(joinedA).toMatchObject({ type: 'joined', members: [{ user: 'alice', region: primary }] });
    const bob = await open('bob', stack.endpoints.regions[secondary] as string);
    await bob.request({ action: 'join', room: 'outage-room' });
    const before = await alice.request({ action: 'send', room: 'outage-room', id: 'o-0', body: 'before' });
    await bob.next(isMessage('o-0'));

    const aliceMembership = await stack.dynamoDb(primary).send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
        ExpressionAttributeValues: { ':pk': { S: 'ROOM#outage-room' }, ':m': { S: `MEMBER#${primary}#` } },
        ConsistentRead: true,
      }),
    );
    const aliceKey = { pk: { S: 'ROOM#outage-room' }, sk: aliceMembership.Items?.[0]?.sk ?? { S: '' } };

    // The outage: connections dropped with 1001, new ones refused, /health 503.
    const response = await fetch(`${control}/${primary}/outage`, { method: 'POST', headers: LOCAL_CONTROL });
    expect(response.status).toBe(200);
    expect((await alice.closed).code).toBe(1001);
    expect((await fetch(`http://127.0.0.1:${stack.regions[0]?.port}/health`)).status).toBe(503);
    expect(
      await refusedStatus(await urlFor(stack, stack.endpoints.regions[primary] as string, 'carol')),
    ).toBe(503);
    expect((await regionsDoc()).regions.find((r) => r.name === primary)?.state).toBe('outage');
    await eventually(async () => (await regionsDoc()).routedTo === secondary);

    // Alice comes back through the global endpoint, now in the secondary, and resumes.
    const alice2 = await open('alice', stack.endpoints.global);
    const rejoined = await alice2.request({
      action: 'join',
      room: 'outage-room',
      since: { [primary]: before.seq as number },
    });
    expect(rejoined.members).toEqual(expect.arrayContaining([{ user: 'alice', region: secondary }]));
    for (const id of ['o-1', 'o-2', 'o-3']) {
      expect(await bob.request({ action: 'send', room: 'outage-room', id, body: id })).toMatchObject({
        origin: secondary,
      });
      await alice2.next(isMessage(id));
    }

    // No replication either way while the primary is down: the replicator has read writes on
    // both sides (alice's $disconnect in the primary, the new messages in the secondary) and holds
    // them, each link's oldest for a second and more, yet neither replica has the other's.
    await eventually(
      async () =>
        !stack.replicationIdle() &&
        stack.replicationLagMs(primary) >= 1_000 &&
        stack.replicationLagMs(secondary) >= 1_000,
    );
    expect(await storedIds(primary, 'outage-room')).toEqual(['o-0']);
    const staleInSecondary = await stack
      .dynamoDb(secondary)
      .send(new GetItemCommand({ TableName: stack.tableName, Key: aliceKey, ConsistentRead: true }));
    expect(staleInSecondary.Item).toBeDefined();

    // Recovery: healthy again, replication catches up both ways, the global endpoint fails back.
    expect(
      (await fetch(`${control}/${primary}/outage`, { method: 'DELETE', headers: LOCAL_CONTROL })).status,
    ).toBe(200);
    expect((await fetch(`http://127.0.0.1:${stack.regions[0]?.port}/health`)).status).toBe(200);
    await eventually(async () => (await storedIds(primary, 'outage-room')).join() === 'o-0,o-1,o-2,o-3');
    await eventually(async () => {
      const item = await stack
        .dynamoDb(secondary)
        .send(new GetItemCommand({ TableName: stack.tableName, Key: aliceKey, ConsistentRead: true }));
      return item.Item === undefined;
    });
    await eventually(async () => (await regionsDoc()).routedTo === primary);
    const lag = (await regionsDoc()).regions.map((r) => r.replicationLagMs);
    expect(lag.every((l) => typeof l === 'number' && l >= 0)).toBe(true);

    // A client that saw nothing joins the recovered primary and gets every message, once, in order.
    const dave = await open('dave', stack.endpoints.global);
    const joined = await dave.request({ action: 'join', room: 'outage-room', since: {} });
    expect(joined.cursor).toMatchObject({ [primary]: 1, [secondary]: 3 });
    for (const id of ['o-0', 'o-1', 'o-2', 'o-3']) await dave.next(isMessage(id));
    const seen = dave.frames.filter((f) => f.type === 'message').map((f) => f.id);
    expect(seen.filter((id) => id !== 'o-0')).toEqual(['o-1', 'o-2', 'o-3']);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('Local stack: presence across an outage', () => {
  it('lists a pinging member of the other region past the timeout, and leaves it out once its region is down', async () => {
    const erin = await open('erin', stack.endpoints.regions[primary] as string);
    const openedAt = Date.now();
    const frank = await open('frank', stack.endpoints.regions[secondary] as string);
    const quiet = await open('gina', stack.endpoints.regions[secondary] as string);
    await erin.request({ action: 'join', room: 'presence-room' });
    await frank.request({ action: 'join', room: 'presence-room' });
    await quiet.request({ action: 'join', room: 'presence-room' });
    // erin heartbeats as the SDK does (faster, for the short timeout); frank and gina never ping.
    const heartbeat = setInterval(() => erin.send({ action: 'ping' }), 500);
    const presence = async (): Promise<string[]> => {
      const answer = await frank.request({ action: 'presence', room: 'presence-room' });
      return (answer.members as { user: string; region: string }[])
        .map((m) => `${m.user}@${m.region}`)
        .sort();
    };
    try {
      // Past the timeout since erin connected, only her pings can keep her listed in the secondary.
      await new Promise((r) =>
        setTimeout(r, Math.max(0, openedAt + (PRESENCE_TIMEOUT_S + 1) * 1000 - Date.now())),
      );
      const everyone = [`erin@${primary}`, `frank@${secondary}`, `gina@${secondary}`];
      await eventually(async () => (await presence()).join() === everyone.join());

      // erin's region goes down: her $disconnect cannot replicate, her pings stop.
      expect(
        (
          await fetch(`${stack.endpoints.control}/${primary}/outage`, {
            method: 'POST',
            headers: LOCAL_CONTROL,
          })
        ).status,
      ).toBe(200);
      await erin.closed;
      // gina, quiet but connected in this region, stays: she is checked at @connections.
      await eventually(
        async () => (await presence()).join() === [`frank@${secondary}`, `gina@${secondary}`].join(),
      );
    } finally {
      clearInterval(heartbeat);
      await fetch(`${stack.endpoints.control}/${primary}/outage`, {
        method: 'DELETE',
        headers: LOCAL_CONTROL,
      });
    }
    // After recovery erin's $disconnect replicates: her membership is gone from every replica.
    await eventually(async () => {
      const members = await stack.dynamoDb(secondary).send(
        new QueryCommand({
          TableName: stack.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
          ExpressionAttributeValues: {
            ':pk': { S: 'ROOM#presence-room' },
            ':m': { S: `MEMBER#${primary}#` },
          },
          ConsistentRead: true,
        }),
      );
      return (members.Items ?? []).length === 0;
    });
    expect(await presence()).toEqual([`frank@${secondary}`, `gina@${secondary}`]);
  });
});
