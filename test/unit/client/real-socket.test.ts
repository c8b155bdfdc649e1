/**
 * The SDK over real sockets: Node 22's own WebSocket against a small scripted Parley server (the
 * `ws` package) on 127.0.0.1, free ports. It checks what a fake socket cannot: the token in the
 * handshake URL, a refused connection as Node reports it, and a server-side drop.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws';
import { ParleyClient } from '../../../client/client.js';
import type { ParleyError } from '../../../client/errors.js';
import type { MessageFrame, StateEvent } from '../../../client/types.js';

/** A minimal in-memory Parley server: one origin, idempotent sends, resume by `since`. */
class ScriptedServer {
  public readonly tokens: string[] = [];
  public readonly frames: Array<Record<string, unknown>> = [];
  readonly #messages: MessageFrame[] = [];
  readonly #members = new Map<ServerSocket, Set<string>>();
  readonly #server: WebSocketServer;
  /** When set, the next `send` is received (and stored) but not answered: the ack is "lost". */
  public dropNextAck = false;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on('connection', (socket, request) => {
      this.tokens.push(new URL(request.url ?? '/', 'http://x').searchParams.get('token') ?? '');
      this.#members.set(socket, new Set());
      socket.on('message', (data) =>
        this.#onFrame(socket, JSON.parse(String(data)) as Record<string, unknown>),
      );
      socket.on('close', () => this.#members.delete(socket));
    });
  }

  public static async start(): Promise<ScriptedServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new ScriptedServer(server);
  }

  public get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  /** How stored messages go on the wire, when not as JSON.stringify would write them. */
  readonly #wire = new Map<MessageFrame, string>();

  /**
   * Stores a message whose body is nested `depth` deep, and sends it to the room: as text, since
   * JSON.stringify would recurse, the way a v1 server let such a body through.
   */
  public storeDeep(room: string, depth: number): void {
    const stored: MessageFrame = {
      type: 'message',
      room,
      id: 'deep',
      origin: 'local',
      seq: this.#messages.filter((m) => m.room === room).length + 1,
      from: 'eve',
      body: null,
      ts: Date.now(),
    };
    this.#messages.push(stored);
    this.#wire.set(
      stored,
      JSON.stringify(stored).replace('"body":null', `"body":${'['.repeat(depth)}${']'.repeat(depth)}`),
    );
    for (const [member, rooms] of this.#members)
      if (rooms.has(room)) member.send(this.#wire.get(stored) ?? '');
  }

  /** Drops every connection, as a region that fails does. */
  public dropAll(): void {
    for (const socket of this.#server.clients) socket.terminate();
  }

  public async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onFrame(socket: ServerSocket, frame: Record<string, unknown>): void {
    this.frames.push(frame);
    const out = (reply: Record<string, unknown>): void => socket.send(JSON.stringify(reply));
    const ref = frame.ref;
    const room = frame.room as string;
    switch (frame.action) {
      case 'ping':
        out({ type: 'pong', ref, ts: Date.now() });
        return;
      case 'join': {
        this.#members.get(socket)?.add(room);
        const seq = this.#messages.filter((m) => m.room === room).length;
        out({
          type: 'joined',
          ref,
          room,
          cursor: seq > 0 ? { local: seq } : {},
          members: [],
          region: 'local',
        });
        const since = (frame.since as Record<string, number> | undefined)?.local;
        if (frame.since !== undefined) {
          for (const m of this.#messages) {
            if (m.room === room && m.seq > (since ?? 0)) socket.send(this.#wire.get(m) ?? JSON.stringify(m));
          }
        }
        return;
      }
      case 'send': {
        const existing = this.#messages.find((m) => m.room === room && m.id === frame.id);
        const stored: MessageFrame = existing ?? {
          type: 'message',
          room,
          id: frame.id as string,
          origin: 'local',
          seq: this.#messages.filter((m) => m.room === room).length + 1,
          from: 'alice',
          body: frame.body as MessageFrame['body'],
          ts: Date.now(),
        };
        if (existing === undefined) {
          this.#messages.push(stored);
          for (const [member, rooms] of this.#members)
            if (rooms.has(room)) member.send(JSON.stringify(stored));
        }
        if (this.dropNextAck) {
          this.dropNextAck = false;
          return;
        }
        out({ type: 'ack', ref, room, id: stored.id, origin: stored.origin, seq: stored.seq, ts: stored.ts });
        return;
      }
    }
  }
}

/** Resolves when `predicate` holds for an event the client emits. */
const waitFor = <T>(
  subscribe: (listener: (value: T) => void) => () => void,
  predicate: (value: T) => boolean,
) =>
  new Promise<T>((resolve) => {
    const off = subscribe((value) => {
      if (predicate(value)) {
        off();
        resolve(value);
      }
    });
  });

describe('Client over real sockets', () => {
  const cleanup: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const serve = async (): Promise<ScriptedServer> => {
    const server = await ScriptedServer.start();
    cleanup.push(() => server.stop());
    return server;
  };

  const connect = (endpoints: string[]): ParleyClient => {
    const client = new ParleyClient({
      endpoints,
      token: () => 'token-for-alice',
      backoff: { initialMs: 20, maxMs: 100 },
      failoverAfter: 1,
    });
    cleanup.push(() => client.close());
    return client;
  };

  it('connects with the token in the URL, joins, sends and receives its own message', async () => {
    // Prepare
    const server = await serve();
    const client = connect([server.url]);
    const received = waitFor<MessageFrame>(
      (l) => client.on('message', l),
      () => true,
    );

    // Act
    await client.whenOpen();
    await client.join('lobby');
    const ack = await client.send('lobby', { text: 'hi' }, { id: 'm1' });

    // Assess
    expect(server.tokens).toEqual(['token-for-alice']);
    expect(ack).toMatchObject({ room: 'lobby', id: 'm1', origin: 'local', seq: 1 });
    expect(await received).toMatchObject({ room: 'lobby', id: 'm1', body: { text: 'hi' } });
    expect(client.connection.region).toBe('local');
  });

  it('fails over from a refused endpoint to the next one', async () => {
    // Prepare: a port that refuses connections
    const closed = await ScriptedServer.start();
    const refusedUrl = closed.url;
    await closed.stop();
    const server = await serve();
    const client = connect([refusedUrl, server.url]);
    const states: StateEvent[] = [];
    client.on('state', (s) => states.push(s));

    // Act
    await client.whenOpen();

    // Assess
    expect(client.connection).toMatchObject({ endpoint: server.url, endpointIndex: 1 });
    expect(states).toContainEqual(
      expect.objectContaining({
        state: 'failed-over',
        from: refusedUrl,
        endpoint: server.url,
        reason: 'unreachable',
      }),
    );
  });

  it('after a drop, resumes with since and resends the unacknowledged send, which is stored once', async () => {
    // Prepare
    const server = await serve();
    const client = connect([server.url]);
    const messages: MessageFrame[] = [];
    client.on('message', (m) => messages.push(m));
    await client.whenOpen();
    await client.join('lobby');
    await client.send('lobby', 'first', { id: 'a' });

    // Act: the server stores the next send but its ack is lost with the connection
    server.dropNextAck = true;
    const second = client.send('lobby', 'second', { id: 'b' });
    await waitFor<MessageFrame>(
      (l) => client.on('message', l),
      (m) => m.id === 'b',
    );
    const resumed = waitFor<{ room: string }>(
      (l) => client.on('caughtUp', l),
      () => true,
    );
    server.dropAll();
    const ack = await second;
    await resumed;

    // Assess
    const joins = server.frames.filter((f) => f.action === 'join');
    expect(joins.at(-1)).toMatchObject({ room: 'lobby', since: { local: 2 } });
    expect(server.frames.filter((f) => f.action === 'send' && f.id === 'b')).toHaveLength(2);
    expect(ack).toMatchObject({ id: 'b', seq: 2 });
    expect(messages.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('survives a message nested 2,000 deep: an error event, the same connection, the next message', async () => {
    // Prepare
    const server = await serve();
    const client = connect([server.url]);
    const states: StateEvent[] = [];
    client.on('state', (s) => states.push(s));
    await client.whenOpen();
    await client.join('lobby');
    const reported = waitFor<ParleyError>(
      (l) => client.on('error', l),
      () => true,
    );
    const received = waitFor<MessageFrame>(
      (l) => client.on('message', l),
      () => true,
    );

    // Act
    server.storeDeep('lobby', 2_000);
    const next = await client.send('lobby', 'after', { id: 'after' });

    // Assess
    expect((await reported).message).toContain('skipped message local:1 of lobby');
    expect(await received).toMatchObject({ id: 'after', seq: 2 });
    expect(next).toMatchObject({ id: 'after', seq: 2 });
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open']);
    expect(client.cursor('lobby')).toEqual({ local: 2 });
  });
});
