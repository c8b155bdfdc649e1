/**
 * API Gateway's WebSocket size limits on the local stack, with the real handlers behind them:
 * frames of at most 32 KiB, messages of at most 128 KiB that may span several frames, and 1009 for
 * either limit. A message over a frame but under the message limit reaches the handler, which
 * answers with the protocol's own body limit (16 KiB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { connect, startTestStack, type TestClient, urlFor } from './helpers.js';

let stack: LocalStack;
const clients: TestClient[] = [];

const open = async (user: string): Promise<TestClient> => {
  const region = stack.regions[0]?.name as string;
  const client = await connect(await urlFor(stack, stack.endpoints.regions[region] as string, user));
  clients.push(client);
  return client;
};

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stack?.stop();
});

describe('Local stack: WebSocket frame and message limits', () => {
  it('routes a 40 KiB send in two frames to the handler, which answers payload_too_large; the connection stays open', async () => {
    const client = await open('ada');
    const message = JSON.stringify({
      action: 'send',
      room: 'limits-room',
      id: 'big-1',
      ref: 'two-frames',
      body: 'x'.repeat(40 * 1024),
    });
    const middle = Math.floor(message.length / 2);
    client.ws.send(message.slice(0, middle), { fin: false });
    client.ws.send(message.slice(middle), { fin: true });
    const reply = await client.next((f) => f.ref === 'two-frames');
    expect(reply).toMatchObject({ type: 'error', code: 'payload_too_large', action: 'send' });
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('closes with 1009 for a single 40 KiB frame', async () => {
    const client = await open('brian');
    client.ws.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(40 * 1024) }));
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1009 for a 130 KiB message in frames of 30 KiB', async () => {
    const client = await open('cleo');
    const message = JSON.stringify({ action: 'ping', pad: 'x'.repeat(130 * 1024) });
    const frame = 30 * 1024;
    for (let start = 0; start < message.length; start += frame) {
      client.ws.send(message.slice(start, start + frame), { fin: start + frame >= message.length });
    }
    expect((await client.closed).code).toBe(1009);
  });
});
