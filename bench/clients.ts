/**
 * Bench WebSocket clients: bare `ws` sockets (no SDK bookkeeping, so the client side costs as
 * little as possible) opened with bounded concurrency, each handing its frames to one callback.
 */
import WebSocket from 'ws';
import { retry } from '../lambdas/shared/retry.js';

/** A server frame as received. */
export type Frame = Record<string, unknown> & { type?: string };

/** One open bench connection. */
export interface BenchSocket {
  ws: WebSocket;
  /** The user its token names. */
  user: string;
  /** Called with every frame it receives (replaceable). */
  onFrame: (frame: Frame, receivedAt: number) => void;
  send(frame: Record<string, unknown>): void;
  /** Sends a frame with a fresh `ref`; resolves with the reply that echoes it. */
  request(frame: Record<string, unknown>, timeoutMs?: number): Promise<Frame>;
}

let refs = 0;

/** Opens one socket; rejects on a refused handshake or an error. */
export const openSocket = (url: string, user: string, timeoutMs = 30_000): Promise<BenchSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const pending = new Map<string, (frame: Frame) => void>();
    const socket: BenchSocket = {
      ws,
      user,
      onFrame: () => undefined,
      send: (frame) => ws.send(JSON.stringify(frame)),
      request: (frame, requestTimeoutMs = 30_000) =>
        new Promise((resolveReply, rejectReply) => {
          const ref = `b${++refs}`;
          const timer = setTimeout(() => {
            pending.delete(ref);
            rejectReply(new Error(`no reply to ${String(frame.action)} within ${requestTimeoutMs} ms`));
          }, requestTimeoutMs);
          pending.set(ref, (reply) => {
            clearTimeout(timer);
            resolveReply(reply);
          });
          socket.send({ ...frame, ref });
        }),
    };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('message', (data) => {
      const receivedAt = performance.now();
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      const ref = typeof frame.ref === 'string' ? frame.ref : undefined;
      const waiter = ref === undefined ? undefined : pending.get(ref);
      if (ref !== undefined && waiter) {
        pending.delete(ref);
        waiter(frame);
      }
      socket.onFrame(frame, receivedAt);
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });

/**
 * Opens `count` sockets, at most `concurrency` handshakes at once; `urlOf(i)` gives the URL and
 * user of socket `i`. A refused or failed handshake is retried a few times (the stage may throttle).
 */
export const openMany = async (
  count: number,
  urlOf: (index: number) => Promise<{ url: string; user: string }>,
  concurrency: number,
): Promise<BenchSocket[]> => {
  const sockets: BenchSocket[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const { url, user } = await urlOf(index);
      sockets[index] = await retry(() => openSocket(url, user), {
        attempts: 5,
        retryable: () => true,
        // 200 ms after the first failure, 400 after the second, ...: the stage's bucket refills.
        delayMs: (attempt) => 200 * (attempt + 1),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return sockets;
};

/** Closes sockets without waiting for each close handshake. */
export const closeAll = (sockets: readonly BenchSocket[]): void => {
  for (const socket of sockets) socket?.ws.terminate();
};
