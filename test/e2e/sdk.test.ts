/**
 * The client SDK against the local stack: clients in both regions chat, a region goes down while
 * they send, the clients fail over (client-side, or through the global endpoint, whichever is first), resume with
 * their cursors, and once the region is back every acknowledged message has reached every client
 * exactly once, per origin in seq order; sends made while the connection was down are resent with
 * the same id and settle once.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointConfig, MessageFrame, SendAck, StateEvent } from '../../client/index.js';
import { ParleyClient } from '../../client/index.js';
import type { LocalStack } from '../../local/stack.js';
import { eventually, startTestStack } from './helpers.js';

let stack: LocalStack;
let primary: string;
let secondary: string;
const clients: ParleyClient[] = [];
/** Set to false to end the traffic loops (also when a test fails half-way). */
let traffic = false;

/** A client and everything it observed. */
interface Observed {
  client: ParleyClient;
  messages: MessageFrame[];
  states: StateEvent[];
  caughtUp: number;
}

/**
 * An SDK client with fast reconnects. `first` picks the endpoint it prefers: the global one
 * (routed to the healthy primary) or one region's own endpoint; the rest follow for failover.
 */
const open = (user: string, first: 'global' | 'secondary'): Observed => {
  const global: EndpointConfig = { url: stack.endpoints.global };
  const a: EndpointConfig = { url: stack.endpoints.regions[primary] as string, region: primary };
  const b: EndpointConfig = { url: stack.endpoints.regions[secondary] as string, region: secondary };
  const client = new ParleyClient({
    endpoints: first === 'global' ? [global, a, b] : [b, global, a],
    token: () => stack.token(user),
    backoff: { initialMs: 50, maxMs: 500 },
    failoverAfter: 2,
    connectTimeoutMs: 5_000,
    preferredRetryMs: 1_000,
    sendTimeoutMs: 90_000,
    resendAfterMs: 5_000,
    requestTimeoutMs: 30_000,
  });
  clients.push(client);
  const observed: Observed = { client, messages: [], states: [], caughtUp: 0 };
  client.on('message', (message) => observed.messages.push(message));
  client.on('state', (event) => observed.states.push(event));
  client.on('caughtUp', (event) => {
    observed.caughtUp += event.count;
  });
  return observed;
};

const regionOf = (observed: Observed): string | undefined => observed.client.connection.region;

/** Fails the test with a readable list if `values` has a repeated element. */
const duplicates = <T>(values: T[]): T[] => values.filter((value, i) => values.indexOf(value) !== i);

/** Per origin, the seqs in the order they were delivered. */
const seqsByOrigin = (messages: MessageFrame[]): Map<string, number[]> => {
  const byOrigin = new Map<string, number[]>();
  for (const message of messages) {
    const seqs = byOrigin.get(message.origin) ?? [];
    seqs.push(message.seq);
    byOrigin.set(message.origin, seqs);
  }
  return byOrigin;
};

/** Ids of a room's stored message items in one region's replica. */
const storedIds = async (region: string, room: string): Promise<string[]> => {
  const ids: string[] = [];
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const result = await stack.dynamoDb(region).send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        ExpressionAttributeValues: { ':pk': { S: `ROOM#${room}` }, ':msg': { S: 'MSG#' } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of result.Items ?? []) ids.push(item.id?.S as string);
    start = result.LastEvaluatedKey;
  } while (start !== undefined);
  return ids;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await startTestStack();
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterAll(async () => {
  traffic = false;
  for (const client of clients) client.close('test over');
  await stack?.stop();
});

describe('Client SDK on the local stack', () => {
  it('chats across regions: each side gets the other side’s messages, with sender and origin', async () => {
    const alice = open('alice', 'global');
    const bob = open('bob', 'secondary');
    await Promise.all([alice.client.join('sdk-chat'), bob.client.join('sdk-chat')]);
    expect(regionOf(alice)).toBe(primary);
    expect(regionOf(bob)).toBe(secondary);

    const fromAlice = await alice.client.send('sdk-chat', { text: 'hi from alice' });
    const fromBob = await bob.client.send('sdk-chat', { text: 'hi from bob' });
    expect(fromAlice.origin).toBe(primary);
    expect(fromBob.origin).toBe(secondary);

    for (const observed of [alice, bob]) {
      const got = await eventually(async () => {
        const ids = observed.messages.map((m) => m.id);
        return ids.includes(fromAlice.id) && ids.includes(fromBob.id) ? observed.messages : undefined;
      }, 90_000);
      expect(got.find((m) => m.id === fromAlice.id)).toMatchObject({
        from: 'alice',
        origin: primary,
        seq: fromAlice.seq,
        body: { text: 'hi from alice' },
      });
      expect(got.find((m) => m.id === fromBob.id)).toMatchObject({
        from: 'bob',
        origin: secondary,
        seq: fromBob.seq,
        body: { text: 'hi from bob' },
      });
    }

    // Presence and history work across regions too.
    const members = await alice.client.presence('sdk-chat');
    expect(members).toEqual(
      expect.arrayContaining([
        { user: 'alice', region: primary },
        { user: 'bob', region: secondary },
      ]),
    );
    const page = await eventually(async () => {
      const history = await bob.client.history('sdk-chat', { limit: 10 });
      return history.messages.length === 2 ? history : undefined;
    }, 90_000);
    expect(page.messages.map((m) => m.id).sort()).toEqual([fromAlice.id, fromBob.id].sort());

    // A retried send (same id) is acknowledged with the first ack and delivered once.
    const again = await alice.client.send('sdk-chat', { text: 'hi from alice' }, { id: fromAlice.id });
    expect(again).toEqual(fromAlice);
    const marker = await alice.client.send('sdk-chat', 'marker');
    await eventually(async () => bob.messages.some((m) => m.id === marker.id), 90_000);
    expect(bob.messages.filter((m) => m.id === fromAlice.id)).toHaveLength(1);

    alice.client.close();
    bob.client.close();
  }, 300_000);

  it('fails over during an outage under traffic and loses nothing, duplicates nothing, keeps per-origin order', async () => {
    const room = 'sdk-outage';
    // alice and carol prefer the global endpoint (so they land in the primary, the region that
    // goes down); bob prefers the other region and stays there.
    const alice = open('alice', 'global');
    const carol = open('carol', 'global');
    const bob = open('bob', 'secondary');
    const everyone = [alice, carol, bob];
    await Promise.all(everyone.map((o) => o.client.join(room)));
    expect(regionOf(alice)).toBe(primary);
    expect(regionOf(carol)).toBe(primary);
    expect(regionOf(bob)).toBe(secondary);

    const sends: Promise<SendAck>[] = [];
    const sentIds: string[] = [];
    const sendFrom = (observed: Observed, label: string): void => {
      const id = `${label}-${sentIds.length}`;
      sentIds.push(id);
      const sent = observed.client.send(room, { text: `${label} says ${sentIds.length}` }, { id });
      // Judged below with Promise.all; a rejection is reported there, not as an unhandled one.
      sent.catch(() => undefined);
      sends.push(sent);
    };

    // Steady traffic from all three: these loops keep sending through the outage below.
    traffic = true;
    const loops = everyone.map(async (observed, index) => {
      const label = ['alice', 'carol', 'bob'][index] as string;
      while (traffic) {
        sendFrom(observed, label);
        // Steady but light: well under the per-connection send rate (10 per second), and light
        // enough that one machine running both regions keeps up.
        await sleep(400);
      }
    });

    // Some messages go through before the outage.
    await eventually(async () => bob.messages.filter((m) => m.origin === primary).length >= 5, 90_000);

    // While the primary is down, alice's reconnects are refused everywhere for a moment (her
    // $connect fails in the surviving region too), so she certainly misses messages and certainly
    // has sends waiting for a connection.
    const isAlice = (event: unknown): boolean =>
      (event as { requestContext?: { authorizer?: { principalId?: string } } }).requestContext?.authorizer
        ?.principalId === 'alice';
    stack.setFault(secondary, 'connect', (event) => {
      if (isAlice(event)) throw new Error('alice held back by the test');
    });
    await stack.setOutage(primary, true);
    await eventually(async () => alice.client.state !== 'open', 60_000);
    const whileDown = ['down-1', 'down-2', 'down-3'];
    const downSends = whileDown.map((id) =>
      alice.client.send(room, { text: `sent while down: ${id}` }, { id }),
    );
    // Judged below; if the test fails before, closing the client must not leave them unhandled.
    for (const sent of downSends) sent.catch(() => undefined);
    const missed = await Promise.all(
      ['missed-1', 'missed-2', 'missed-3', 'missed-4', 'missed-5'].map((id) =>
        bob.client.send(room, { text: `alice misses ${id}` }, { id }),
      ),
    );
    expect(alice.client.state).not.toBe('open');
    expect(alice.messages.filter((m) => m.id.startsWith('missed-'))).toEqual([]);
    const caughtUpBefore = alice.caughtUp;
    stack.setFault(secondary, 'connect', undefined);

    // Both clients of the dead region fail over to the surviving region.
    for (const observed of [alice, carol]) {
      await eventually(
        async () => observed.client.state === 'open' && regionOf(observed) === secondary,
        90_000,
      ).catch((error: unknown) => {
        const recent = observed.states.slice(-5).map((s) => JSON.stringify(s));
        throw new Error(
          `${String(error)}; state ${observed.client.state}, region ${regionOf(observed)}; last: ${recent}`,
        );
      });
      // Two ways lead there, and which is first depends on timing: the SDK gives up on the global
      // endpoint and moves to the next one (client-side failover), or the global endpoint's health
      // checks route its reconnect to the surviving region (the DNS path) before that.
      const clientSide = observed.states.some((s) => s.state === 'failed-over' && s.reason === 'unreachable');
      expect(
        clientSide || observed.client.connection.endpoint === stack.endpoints.global,
        'failed over',
      ).toBe(true);
    }
    const downAcks = await Promise.all(downSends);
    expect(downAcks.map((ack) => ack.id)).toEqual(whileDown);
    // Accepted by the surviving region: the primary was unreachable when they were resent.
    for (const ack of downAcks) expect(ack.origin).toBe(secondary);
    // The resume replayed what alice missed, once each, and said so.
    await eventually(async () => missed.every((ack) => alice.messages.some((m) => m.id === ack.id)), 90_000);
    for (const ack of missed) expect(alice.messages.filter((m) => m.id === ack.id)).toHaveLength(1);
    await eventually(async () => alice.caughtUp - caughtUpBefore >= missed.length, 90_000);

    // More traffic while the primary is down, then it recovers.
    const sentBeforeRecovery = sentIds.length;
    await eventually(async () => sentIds.length >= sentBeforeRecovery + 15, 90_000);
    await stack.setOutage(primary, false);
    await eventually(async () => sentIds.length >= sentBeforeRecovery + 30, 90_000);
    traffic = false;
    await Promise.all(loops);

    // Every send is acknowledged (none timed out or failed), each with its own (origin, seq).
    const acks = await Promise.all(sends);
    expect(acks.map((ack) => ack.id)).toEqual(sentIds);
    const allAcked = [...acks, ...downAcks, ...missed];
    const ackedIds = allAcked.map((ack) => ack.id);
    expect(duplicates(ackedIds)).toEqual([]);
    expect(duplicates(allAcked.map((ack) => `${ack.origin}:${ack.seq}`))).toEqual([]);

    // After recovery, every client ends up with every acknowledged message.
    for (const observed of everyone) {
      await eventually(async () => {
        const got = new Set(observed.messages.map((m) => m.id));
        return ackedIds.every((id) => got.has(id));
      }, 90_000);
    }
    // Let late duplicates (if there were any) arrive before judging: replication idle, one more
    // message through both regions delivered to everyone.
    await eventually(async () => stack.replicationIdle(), 90_000);
    const last = await bob.client.send(room, 'last');
    for (const observed of everyone)
      await eventually(async () => observed.messages.some((m) => m.id === last.id), 90_000);

    for (const observed of everyone) {
      const ids = observed.messages.map((m) => m.id);
      const keys = observed.messages.map((m) => `${m.origin}:${m.seq}`);
      // 0 lost.
      expect(ackedIds.filter((id) => !ids.includes(id))).toEqual([]);
      // 0 duplicated, by id and by (origin, seq).
      expect(duplicates(ids)).toEqual([]);
      expect(duplicates(keys)).toEqual([]);
      // Per origin, in seq order.
      for (const [origin, seqs] of seqsByOrigin(observed.messages)) {
        expect(
          seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number)),
          `${origin}: ${seqs.join(',')}`,
        ).toBe(true);
      }
      // Every message shows what its ack said.
      for (const ack of allAcked) {
        const message = observed.messages.find((m) => m.id === ack.id);
        expect(message).toBeDefined();
        if (message?.origin === ack.origin) expect(message.seq).toBe(ack.seq);
      }
    }
    // The sends made while down are stored once in the region that accepted them.
    const storedSecondary = await storedIds(secondary, room);
    for (const id of whileDown) expect(storedSecondary.filter((stored) => stored === id)).toHaveLength(1);

    // And the clients that prefer the global endpoint go back to it once it answers again. Which
    // region it hands them is the global endpoint's choice at that moment (as with Route 53, its
    // health check may not have seen the primary recover yet), so only the endpoint is asserted.
    for (const observed of [alice, carol]) {
      await eventually(
        async () => observed.client.state === 'open' && observed.client.connection.endpointIndex === 0,
        60_000,
      );
      expect([primary, secondary]).toContain(regionOf(observed));
      // A client that had moved to another endpoint moved back to it: its last move, either back
      // from another endpoint ('preferred-recovered') or on round the list ('unreachable'), was to 0.
      const moves = observed.states.filter((s) => s.state === 'failed-over');
      if (moves.length > 0) expect(moves.at(-1)).toMatchObject({ endpointIndex: 0 });
    }
    // Still in the room after the move back: a message from bob reaches them.
    const after = await bob.client.send(room, 'after the move back');
    for (const observed of [alice, carol]) {
      await eventually(async () => observed.messages.some((m) => m.id === after.id), 90_000);
      expect(observed.messages.filter((m) => m.id === after.id)).toHaveLength(1);
    }
  }, 600_000);
});
