/**
 * Who can reach the running local stack, checked on a whole stack over real sockets:
 *
 * - every TCP socket the stack listens on (its own servers in this process and the Java engines,
 *   DynamoDB Local and ElasticMQ, its children) is bound to the loopback interface, read from
 *   `/proc`; and on each of this machine's other addresses, connecting to those ports is refused;
 * - a WebSocket handshake from another site's page (`Origin: https://evil.example`) is refused with
 *   403 at the global endpoint and at a region's port; the page's own origin, no `Origin` and an
 *   origin allowed with `allowOrigins` open;
 * - `POST /_local/faults` without the JSON content type, or with a foreign `Host`, is refused and
 *   changes no fault; with the right headers it works.
 */

import { request } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { connect, LOCAL_CONTROL, refusedStatus, startTestStack } from './helpers.js';
import {
  childrenOf,
  isLoopbackAddress,
  listeningSocketsOf,
  nonLoopbackAddresses,
} from './listening-sockets.js';

const FRONT_END = 'http://localhost:3000';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ allowOrigins: [FRONT_END] });
});
afterAll(async () => {
  await stack?.stop();
});

/** The port of every server the stack reports, by name. */
const stackPorts = (): Record<string, number> => {
  const { regions, global, web, control, ...engines } = stack.endpoints;
  const named: Record<string, string> = { global, ...engines };
  for (const [region, endpoint] of Object.entries(regions)) named[region] = endpoint;
  return Object.fromEntries(Object.entries(named).map(([name, url]) => [name, Number(new URL(url).port)]));
};

/** Resolves with the error code of a TCP connection attempt, or 'connected'. */
const tryConnect = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

describe('Where the local stack listens', () => {
  it('binds every listening socket of the stack and its engines to loopback', () => {
    const pids = [process.pid, ...childrenOf(process.pid)];
    const sockets = listeningSocketsOf(pids);
    const ports = stackPorts();
    // Each server the stack reports (DynamoDB Local and ElasticMQ among them) is one of them...
    for (const [name, port] of Object.entries(ports))
      expect(
        sockets.some((s) => s.port === port),
        `${name} (port ${port}) listens`,
      ).toBe(true);
    // ...and not one socket of these processes listens beyond loopback.
    expect(sockets.filter((s) => !isLoopbackAddress(s.address))).toEqual([]);
    expect(sockets.length).toBeGreaterThanOrEqual(Object.keys(ports).length);
  });

  it("refuses connections to the stack's ports on this machine's other addresses", async () => {
    const ports = stackPorts();
    const addresses = nonLoopbackAddresses();
    for (const [name, port] of Object.entries(ports)) {
      // The same port answers on loopback: a refusal below is the binding's, not a stopped server's.
      expect(await tryConnect('127.0.0.1', port), name).toBe('connected');
      for (const address of addresses)
        expect(await tryConnect(address, port), `${name} on ${address}:${port}`).toBe('ECONNREFUSED');
    }
  });
});

describe('WebSocket Origin on the whole stack', () => {
  const endpoints = (): [string, string][] => [
    ['global endpoint', stack.endpoints.global],
    ...Object.entries(stack.endpoints.regions),
  ];
  const urlOf = async (endpoint: string): Promise<string> => `${endpoint}?token=${await stack.token('olga')}`;

  it('refuses Origin https://evil.example with 403 at the global endpoint and at each region', async () => {
    for (const [, endpoint] of endpoints())
      expect(await refusedStatus(await urlOf(endpoint), { origin: 'https://evil.example' })).toBe(403);
  });

  it("opens with the page's own origin, with no Origin, and with an allowed origin", async () => {
    const page = stack.endpoints.web.replace(/\/$/, '');
    for (const [, endpoint] of endpoints()) {
      for (const options of [{ origin: page }, {}, { origin: FRONT_END }]) {
        const client = await connect(await urlOf(endpoint), options);
        expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
        await client.close();
      }
    }
  });
});

/** A POST to the global port with exactly these headers (fetch would set its own Host). */
const post = (path: string, headers: Record<string, string>, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, stack.endpoints.web);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers,
        setHost: !('host' in headers),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

describe('/_local/faults on the whole stack', () => {
  const faultsUrl = (): string => `${stack.endpoints.web}_local/faults`;
  const current = async (): Promise<unknown> =>
    ((await (await fetch(faultsUrl())).json()) as { faults: unknown }).faults;
  const body = JSON.stringify({ replication: { lagMs: 300 } });

  it('refuses a POST without the JSON content type, or with Host evil.example, and changes nothing', async () => {
    expect(await current()).toEqual({});
    expect(await post('/_local/faults', { 'content-type': 'text/plain' }, body)).toBe(403);
    expect(await post('/_local/faults', { ...LOCAL_CONTROL, host: 'evil.example' }, body)).toBe(403);
    expect(await current()).toEqual({});
  });

  it('sets and clears the faults with the JSON content type and a loopback Host', async () => {
    expect(await post('/_local/faults', LOCAL_CONTROL, body)).toBe(200);
    expect(await current()).toMatchObject({ replication: { lagMs: 300 } });
    expect((await fetch(faultsUrl(), { method: 'DELETE', headers: LOCAL_CONTROL })).status).toBe(200);
    expect(await current()).toEqual({});
  });
});
