/**
 * Shared set-up of the SDK's unit tests: a client wired to {@link FakeWebSocket}, fake timers, a
 * fixed jitter, and recorders for every event.
 */
import { vi } from 'vitest';
import { ParleyClient } from '../../../client/client.js';
import type { ParleyError } from '../../../client/errors.js';
import type {
  CaughtUpEvent,
  JoinedEvent,
  JoinResult,
  MessageFrame,
  ParleyClientOptions,
  PresenceEvent,
  StateEvent,
} from '../../../client/types.js';
import { FakeWebSocket } from './fake-web-socket.js';

export const ENDPOINTS = ['ws://global.test/prod', 'ws://a.test/prod', 'ws://b.test/prod'];

/** What a test can see of a client: the client itself and every event it emitted, in order. */
export interface Harness {
  client: ParleyClient;
  messages: MessageFrame[];
  states: StateEvent[];
  errors: ParleyError[];
  caughtUp: CaughtUpEvent[];
  presence: PresenceEvent[];
  joined: JoinedEvent[];
}

/** Creates a client on fake sockets; the first connection attempt starts on the next `flush`. */
export const createHarness = (options: Partial<ParleyClientOptions> = {}): Harness => {
  FakeWebSocket.reset();
  const client = new ParleyClient({
    endpoints: ENDPOINTS,
    token: 'tok',
    WebSocket: FakeWebSocket,
    random: () => 0.5,
    ...options,
  });
  const harness: Harness = {
    client,
    messages: [],
    states: [],
    errors: [],
    caughtUp: [],
    presence: [],
    joined: [],
  };
  client.on('message', (m) => harness.messages.push(m));
  client.on('state', (s) => harness.states.push(s));
  client.on('error', (e) => harness.errors.push(e));
  client.on('caughtUp', (c) => harness.caughtUp.push(c));
  client.on('presence', (p) => harness.presence.push(p));
  client.on('joined', (j) => harness.joined.push(j));
  return harness;
};

/** Lets pending promises (the token, the connection attempt) run without moving the clock. */
export const flush = async (): Promise<void> => {
  // A zero-delay timer may schedule async work (the token) that schedules more: settle a few rounds.
  for (let round = 0; round < 5; round += 1) await vi.advanceTimersByTimeAsync(0);
};

/** Waits for the client's next socket, opens it and answers its first ping. */
export const openNext = async (): Promise<FakeWebSocket> => {
  await flush();
  const socket = FakeWebSocket.last();
  socket.open();
  socket.pong();
  return socket;
};

/** Joins `room` and answers with `joined`. */
export const joinRoom = async (
  harness: Harness,
  socket: FakeWebSocket,
  room: string,
  cursor: Record<string, number> = {},
  members: Array<{ user: string; region: string }> = [],
): Promise<JoinResult> => {
  const joined = harness.client.join(room);
  const frame = socket.take('join');
  socket.reply({ type: 'joined', ref: frame.ref, room, cursor, members });
  return joined;
};

/** A `message` frame; the id defaults to `<origin>-<seq>`. */
export const message = (
  room: string,
  origin: string,
  seq: number,
  overrides: Partial<MessageFrame> = {},
): MessageFrame => ({
  type: 'message',
  room,
  id: `${origin}-${seq}`,
  origin,
  seq,
  from: 'bob',
  body: `body ${origin} ${seq}`,
  ts: 1_000 + seq,
  ...overrides,
});

/** The `(origin, seq)` pairs of delivered messages, for compact assertions. */
export const delivered = (harness: Harness): string[] => harness.messages.map((m) => `${m.origin}:${m.seq}`);
