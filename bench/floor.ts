/**
 * The raw floor: a bare `ws` broadcast server on 127.0.0.1 (every text frame goes to every
 * connected client), measured like Parley's same-region latency and fan-out. Nothing is stored,
 * authenticated or routed; it is what the machine and the WebSocket stack alone cost.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { sleep } from '../lambdas/shared/retry.js';
import { freePort } from '../local/stack.js';
import { type BenchSocket, closeAll, openMany } from './clients.js';
import { onExit } from './harness.js';
import { type Figure, figure, percentile } from './stats.js';

export interface FloorResult {
  latency: { p50: Figure; p95: Figure; p99: Figure; samples: number };
  /** Deliveries per second, by room size. */
  fanout: Record<string, Figure>;
}

const startBroadcastServer = async (): Promise<{ url: string; stop: () => Promise<void> }> => {
  const port = await freePort();
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = async (): Promise<void> => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `ws://127.0.0.1:${port}/`, stop };
};

/** Measures the floor: latency (one message at a time) and fan-out to rooms of each size. */
export const runFloor = async (options: {
  runs: number;
  latencyMessages: number;
  roomSizes: number[];
  fanoutMessages: Record<number, number>;
}): Promise<FloorResult> => {
  const server = await startBroadcastServer();
  const off = onExit(server.stop);
  const sockets: BenchSocket[] = [];
  try {
    // Latency: two clients.
    const [sender, receiver] = await openMany(2, async (i) => ({ url: server.url, user: `f${i}` }), 2);
    if (!sender || !receiver) throw new Error('floor sockets missing');
    sockets.push(sender, receiver);
    const runs: number[][] = [];
    for (let run = 0; run < options.runs; run++) {
      const samples: number[] = [];
      for (let i = 0; i < options.latencyMessages; i++) {
        const id = `f-${run}-${i}`;
        const arrived = new Promise<number>((resolve) => {
          receiver.onFrame = (frame, at) => {
            if (frame.id === id) resolve(at);
          };
        });
        const sent = performance.now();
        sender.send({ type: 'message', id, body: { text: 'latency probe' } });
        samples.push((await arrived) - sent);
      }
      runs.push(samples);
    }
    closeAll(sockets.splice(0));
    const latency = {
      p50: figure(runs.map((s) => percentile(s, 50))),
      p95: figure(runs.map((s) => percentile(s, 95))),
      p99: figure(runs.map((s) => percentile(s, 99))),
      samples: runs.reduce((sum, s) => sum + s.length, 0),
    };
    // Fan-out: one "room" per server (every client gets every frame).
    const fanout: Record<string, Figure> = {};
    for (const size of options.roomSizes) {
      const members = await openMany(size, async (i) => ({ url: server.url, user: `f${i}` }), 64);
      sockets.push(...members);
      const rates: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        const messages = options.fanoutMessages[size] ?? 5;
        const expected = messages * size;
        let delivered = 0;
        let last = 0;
        const done = new Promise<void>((resolve) => {
          for (const member of members) {
            member.onFrame = (_frame, at) => {
              delivered++;
              last = at;
              if (delivered >= expected) resolve();
            };
          }
        });
        const started = performance.now();
        for (let i = 0; i < messages; i++) members[0]?.send({ type: 'message', id: `ff-${run}-${i}` });
        await Promise.race([done, sleep(30_000)]);
        rates.push(delivered / ((last - started) / 1000));
      }
      fanout[String(size)] = figure(rates);
      closeAll(sockets.splice(0));
    }
    return { latency, fanout };
  } finally {
    closeAll(sockets);
    off();
    await server.stop();
  }
};
