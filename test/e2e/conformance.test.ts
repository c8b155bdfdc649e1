/**
 * Protocol conformance over the wire only: every action and its reply, the error codes, refused
 * handshakes and API Gateway's frame limit, in one region, with real WebSocket clients. Nothing
 * here reaches into the stack, so the same file runs against the local stack (default), a
 * LocalStack deployment (`PARLEY_E2E_TARGET=localstack`) or an AWS deployment
 * (`PARLEY_E2E_TARGET=aws`); see `test/e2e/target.ts`. Room names carry a run id so that a
 * long-lived deployment can be tested again and again.
 *
 * What needs the local stack's controls (fault hooks, outages, reading the table, cross-region
 * fan-out, which LocalStack does not emulate on replicas) is in the other files of `test/e2e/`.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Frame, isType, refusedStatus, type TestClient } from './helpers.js';
import { type E2eTarget, openTarget } from './target.js';

let target: E2eTarget;
let primary: string;
const clients: TestClient[] = [];
const run = Date.now().toString(36);
const room = (name: string): string => `${name}-${run}`;

const open = async (user: string): Promise<TestClient> => {
  const client = await connect(`${target.endpoint(primary)}?token=${await target.token(user)}`);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  target = await openTarget();
  primary = target.regions[0] as string;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await target?.stop();
});

describe('Conformance: actions and replies', () => {
  it('answers ping with pong echoing ref', async () => {
    const alice = await open('alice');
    const pong = await alice.request({ action: 'ping' });
    expect(pong).toMatchObject({ type: 'pong' });
    expect(typeof pong.ts).toBe('number');
  });

  it('joins, sends, acks, delivers, and stores an idempotent retry once', async () => {
    const alice = await open('alice');
    const name = room('proto');
    const joined = await alice.request({ action: 'join', room: name });
    expect(joined).toMatchObject({ type: 'joined', room: name, cursor: {} });
    expect(joined.members).toEqual([{ user: 'alice', region: primary }]);

    const ack = await alice.request({ action: 'send', room: name, id: 'm-1', body: { text: 'hello' } });
    expect(ack).toMatchObject({ type: 'ack', room: name, id: 'm-1', origin: primary, seq: 1 });
    const message = await alice.next(isType('message', (f) => f.id === 'm-1'));
    expect(message).toMatchObject({
      room: name,
      origin: primary,
      seq: 1,
      from: 'alice',
      body: { text: 'hello' },
    });

    const retry = await alice.request({ action: 'send', room: name, id: 'm-1', body: { text: 'hello' } });
    expect(retry).toMatchObject({ type: 'ack', origin: primary, seq: 1, ts: ack.ts });
    const second = await alice.request({ action: 'send', room: name, id: 'm-2', body: 2 });
    expect(second).toMatchObject({ type: 'ack', seq: 2 });
    await alice.next(isType('message', (f) => f.id === 'm-2'));
    // The retry produced no second message: m-1 arrived once, before m-2.
    expect(alice.frames.filter((f) => f.type === 'message' && f.id === 'm-1')).toHaveLength(1);
  });

  it('answers history oldest first, with limit and before', async () => {
    const bob = await open('bob');
    const name = room('history');
    await bob.request({ action: 'join', room: name });
    const acks: Frame[] = [];
    for (let i = 1; i <= 3; i++)
      acks.push(await bob.request({ action: 'send', room: name, id: `h-${i}`, body: i }));
    const all = await bob.request({ action: 'history', room: name });
    expect(all.type).toBe('history');
    expect((all.messages as Frame[]).map((m) => m.id)).toEqual(['h-1', 'h-2', 'h-3']);
    const last = await bob.request({ action: 'history', room: name, limit: 1 });
    expect((last.messages as Frame[]).map((m) => m.id)).toEqual(['h-3']);
    const before = await bob.request({ action: 'history', room: name, before: acks[2]?.ts as number });
    expect((before.messages as Frame[]).every((m) => (m.ts as number) < (acks[2]?.ts as number))).toBe(true);
  });

  it('resumes with since: replays exactly the missed messages, in order', async () => {
    const carl = await open('carl');
    const name = room('resume');
    await carl.request({ action: 'join', room: name });
    for (let i = 1; i <= 4; i++) await carl.request({ action: 'send', room: name, id: `r-${i}`, body: i });
    const late = await open('cora');
    const joined = await late.request({ action: 'join', room: name, since: { [primary]: 2 } });
    expect(joined.cursor).toEqual({ [primary]: 4 });
    await late.next(isType('message', (f) => f.id === 'r-4'));
    expect(late.frames.filter((f) => f.type === 'message').map((f) => f.seq)).toEqual([3, 4]);
  });

  it('answers presence, announces joins and leaves, and forbids a room after leaving', async () => {
    const carol = await open('carol');
    const dave = await open('dave');
    const name = room('presence');
    await carol.request({ action: 'join', room: name });
    await dave.request({ action: 'join', room: name });
    const event = await carol.next(isType('presence', (f) => f.event === 'join' && f.user === 'dave'));
    expect(event).toMatchObject({ room: name, region: primary });

    const presence = await carol.request({ action: 'presence', room: name });
    expect(presence.type).toBe('presence');
    expect(presence.members).toEqual(
      expect.arrayContaining([
        { user: 'carol', region: primary },
        { user: 'dave', region: primary },
      ]),
    );

    const left = await dave.request({ action: 'leave', room: name });
    expect(left).toMatchObject({ type: 'left', room: name });
    await carol.next(isType('presence', (f) => f.event === 'leave' && f.user === 'dave'));
    const refused = await dave.request({ action: 'send', room: name, id: 'x', body: 'x' });
    expect(refused).toMatchObject({ type: 'error', code: 'forbidden', action: 'send' });
  });
});

describe('Conformance: errors', () => {
  it('answers bad frames with bad_request and keeps the connection open', async () => {
    const client = await open('henry');
    client.send({ action: 'teleport', ref: 'bad-1' });
    expect(await client.next((f) => f.ref === 'bad-1')).toMatchObject({ type: 'error', code: 'bad_request' });
    client.ws.send('this is not JSON');
    await client.next(isType('error', (f) => f.code === 'bad_request' && f.ref === undefined));
    const invalid = await client.request({ action: 'join', room: 'no spaces allowed' });
    expect(invalid).toMatchObject({ type: 'error', code: 'bad_request', action: 'join' });
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('answers forbidden for a room not joined', async () => {
    const client = await open('ivan');
    const name = room('not-joined');
    for (const frame of [
      { action: 'send', room: name, id: 'n-1', body: 1 },
      { action: 'history', room: name },
      { action: 'presence', room: name },
    ]) {
      expect(await client.request(frame)).toMatchObject({
        type: 'error',
        code: 'forbidden',
        action: frame.action,
      });
    }
  });

  it('answers payload_too_large for a body over 16 KiB in a frame under 32 KiB', async () => {
    const client = await open('judy');
    const name = room('big');
    await client.request({ action: 'join', room: name });
    const reply = await client.request({ action: 'send', room: name, id: 'big', body: 'x'.repeat(20_000) });
    expect(reply).toMatchObject({ type: 'error', code: 'payload_too_large', action: 'send' });
  });

  it('closes the connection with 1009 for a frame over 32 KiB, as API Gateway does', async () => {
    const client = await open('mia');
    client.ws.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(40_000) }));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('Conformance: handshakes', () => {
  const sign = (secret: string, exp: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));

  it('refuses a handshake with no token with 401', async () => {
    expect(await refusedStatus(target.endpoint(primary))).toBe(401);
    expect(await refusedStatus(`${target.endpoint(primary)}?token=`)).toBe(401);
  });

  it('refuses a malformed token, a bad signature and an expired token with 403', async () => {
    const url = target.endpoint(primary);
    const now = Math.floor(Date.now() / 1000);
    expect(await refusedStatus(`${url}?token=not.a.jwt`)).toBe(403);
    expect(await refusedStatus(`${url}?token=${await sign('some-other-secret', now + 600)}`)).toBe(403);
    expect(await refusedStatus(`${url}?token=${await target.token('mallory', -60)}`)).toBe(403);
  });
});
