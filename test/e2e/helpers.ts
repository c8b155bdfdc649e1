/**
 * Helpers of the end-to-end tests: a WebSocket test client over the `ws` package (which reports
 * a refused handshake's HTTP status) and the local stack started on free ports, so the tests never
 * clash with a running `npm start`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort, type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.js';

/**
 * The headers every state-changing `/_local` request needs (`POST`, `DELETE`, a bodiless one too):
 * the stack refuses others with 403, so that no other site's form can drive it.
 */
export const LOCAL_CONTROL = { 'content-type': 'application/json' } as const;

/** A server frame as received (parsed JSON). */
export type Frame = Record<string, unknown> & { type?: string };

/** Matches a frame of `type` for which `extra` holds. */
export const isType =
  (type: string, extra: (f: Frame) => boolean = () => true) =>
  (f: Frame): boolean =>
    f.type === type && extra(f);

/** A connected test client that records every frame it receives. */
export interface TestClient {
  ws: WebSocket;
  frames: Frame[];
  /** Sends one client frame. */
  send(frame: Record<string, unknown>): void;
  /** Resolves with the first frame (received so far or later) matching `match`. */
  next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Sends a frame with a fresh `ref` and resolves with the reply that echoes it. */
  request(frame: Record<string, unknown>, timeoutMs?: number): Promise<Frame>;
  /** Resolves with the close code and reason once the server closes the connection. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

let refs = 0;

/**
 * Opens a WebSocket and resolves once it is open; rejects with the HTTP status if refused.
 * `options` are `ws`'s (e.g. `{ origin }`: the `ws` client sends no `Origin` unless told to).
 */
export const connect = (url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const frames: Frame[] = [];
    const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolveClosed) => {
      ws.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString() }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      frames.push(frame);
      for (const waiter of [...waiters]) {
        if (waiter.match(frame)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new HandshakeRefused(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.on('error', (error) => reject(error));
    ws.on('open', () => {
      const client: TestClient = {
        ws,
        frames,
        closed,
        send: (frame) => ws.send(JSON.stringify(frame)),
        next: (match, timeoutMs = 10_000) =>
          new Promise((resolveFrame, rejectFrame) => {
            const found = frames.find(match);
            if (found) return resolveFrame(found);
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1);
              rejectFrame(
                new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`),
              );
            }, timeoutMs);
            const waiter = {
              match,
              resolve: (f: Frame) => {
                clearTimeout(timer);
                resolveFrame(f);
              },
            };
            waiters.push(waiter);
          }),
        request: (frame, timeoutMs) => {
          const ref = `r${++refs}`;
          client.send({ ...frame, ref });
          return client.next((f) => f.ref === ref, timeoutMs);
        },
        close: async () => {
          if (ws.readyState === WebSocket.CLOSED) return;
          ws.close();
          await closed;
        },
      };
      resolve(client);
    });
  });

/** A handshake the server refused, with its HTTP status. */
export class HandshakeRefused extends Error {
  constructor(public readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
    this.name = 'HandshakeRefused';
  }
}

/** The HTTP status a handshake is refused with (fails if it is accepted). */
export const refusedStatus = async (url: string, options: WebSocket.ClientOptions = {}): Promise<number> => {
  try {
    const client = await connect(url, options);
    await client.close();
  } catch (error) {
    if (error instanceof HandshakeRefused) return error.status;
    throw error;
  }
  throw new Error(`handshake to ${url} was accepted`);
};

/** Polls `check` until it returns a value other than undefined/false. */
export const eventually = async <T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
};

const logDir = join(import.meta.dirname, '..', '..', '.local', 'logs');

/** Starts the local stack on free ports (global and regions) with fast retries, logging to `.local/logs/e2e.log`. */
export const startTestStack = async (options: LocalStackOptions = {}): Promise<LocalStack> => {
  const globalPort = await freePort();
  const regionPorts = [await freePort(), await freePort()];
  mkdirSync(logDir, { recursive: true });
  return startLocalStack({
    log: (line) => appendFileSync(join(logDir, 'e2e.log'), `${new Date().toISOString()} ${line}\n`),
    globalPort,
    regionPorts,
    healthIntervalMs: 250,
    failureThreshold: 2,
    retryDelayMs: () => 50,
    ...options,
  });
};

/** `ws://.../?token=...` of a region (or the global endpoint) for a user. */
export const urlFor = async (stack: LocalStack, endpoint: string, user: string): Promise<string> =>
  `${endpoint}?token=${await stack.token(user)}`;
