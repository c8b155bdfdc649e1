import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionClosedError } from '../../../client/errors.js';
import { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, ENDPOINTS, flush, type Harness, joinRoom, message, openNext } from './harness.js';

describe('Client: connection', () => {
  let harness: Harness | undefined;

  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    harness?.client.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('connects to the first endpoint with the token as a query parameter, keeping the stage path', async () => {
    // Prepare
    harness = createHarness();

    // Act
    const socket = await openNext();

    // Assess
    const url = new URL(socket.url);
    expect(`${url.origin}${url.pathname}`).toBe(ENDPOINTS[0]);
    expect(socket.token).toBe('tok');
    expect(harness.states.map((s) => s.state)).toEqual(['connecting', 'open']);
    expect(harness.client.state).toBe('open');
    expect(socket.framesOf('ping')).toHaveLength(1);
  });

  it('asks the token function again before every connection attempt', async () => {
    // Prepare
    let issued = 0;
    harness = createHarness({
      token: async () => {
        issued += 1;
        return `token-${issued}`;
      },
    });
    const first = await openNext();

    // Act
    first.drop();
    await vi.advanceTimersByTimeAsync(250);
    const second = await openNext();

    // Assess
    expect(first.token).toBe('token-1');
    expect(second.token).toBe('token-2');
  });

  it('whenOpen resolves once the connection opens', async () => {
    // Prepare
    harness = createHarness({ autoConnect: false });
    const opened = vi.fn();
    void harness.client.whenOpen().then(opened);

    // Act
    harness.client.connect();
    await openNext();

    // Assess
    expect(opened).toHaveBeenCalledTimes(1);
  });

  it('pings every pingIntervalMs and treats a missing pong as a dead connection', async () => {
    // Prepare
    harness = createHarness({ pingIntervalMs: 30_000, pongTimeoutMs: 10_000 });
    const socket = await openNext();

    // Act: the next ping goes out after the interval; the server never answers it
    await vi.advanceTimersByTimeAsync(30_000);
    const pingsAfterInterval = socket.framesOf('ping').length;
    await vi.advanceTimersByTimeAsync(9_999);
    const closedBeforeTimeout = socket.closedWith;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(pingsAfterInterval).toBe(2);
    expect(closedBeforeTimeout).toBeUndefined();
    expect(socket.closedWith?.code).toBe(4000);
    expect(harness.states.at(-1)).toMatchObject({ state: 'reconnecting', endpoint: ENDPOINTS[0] });
    expect(harness.client.state).toBe('reconnecting');
  });

  it('keeps a connection whose pongs arrive', async () => {
    // Prepare
    harness = createHarness({ pingIntervalMs: 30_000, pongTimeoutMs: 10_000 });
    const socket = await openNext();

    // Act: three heartbeats, each answered
    for (let beat = 0; beat < 3; beat += 1) {
      await vi.advanceTimersByTimeAsync(30_000);
      socket.pong();
    }
    await vi.advanceTimersByTimeAsync(10_000);

    // Assess
    expect(socket.framesOf('ping')).toHaveLength(4);
    expect(socket.closedWith).toBeUndefined();
    expect(harness.client.state).toBe('open');
  });

  it('reconnects with exponential backoff and full jitter', async () => {
    // Prepare: a single endpoint that refuses; jitter draws 0.5, then 1, then 0.25, ...
    const draws = [0.5, 1, 0.25, 1, 1, 1, 1, 1, 1];
    harness = createHarness({
      endpoints: ['ws://only.test/'],
      backoff: { initialMs: 100, maxMs: 1_000 },
      random: () => draws.shift() ?? 1,
    });

    // Act: refuse eight attempts in a row, waiting each announced delay
    for (let attempt = 0; attempt < 8; attempt += 1) {
      await flush();
      FakeWebSocket.last().refuse();
      const last = harness.states.at(-1);
      await vi.advanceTimersByTimeAsync(last?.state === 'reconnecting' ? last.delayMs : 0);
    }

    // Assess: delay = random * min(max, initial * 2^attempt)
    const delays = harness.states.flatMap((s) => (s.state === 'reconnecting' ? [s.delayMs] : []));
    expect(delays).toEqual([50, 200, 100, 800, 1_000, 1_000, 1_000, 1_000]);
    expect(FakeWebSocket.instances).toHaveLength(9);
  });

  it('does not reconnect before the backoff delay has passed', async () => {
    // Prepare
    harness = createHarness({ endpoints: ['ws://only.test/'], backoff: { initialMs: 1_000, maxMs: 1_000 } });
    await flush();

    // Act
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(499);
    const beforeDelay = FakeWebSocket.instances.length;
    await vi.advanceTimersByTimeAsync(1);
    await flush();

    // Assess: random 0.5 * 1000 = 500 ms
    expect(beforeDelay).toBe(1);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('treats an error before open as a failed attempt even when no close event follows', async () => {
    // Prepare
    harness = createHarness({ failoverAfter: 1 });
    await flush();
    const refused = FakeWebSocket.last();

    // Act
    refused.failWithoutClose();
    await vi.advanceTimersByTimeAsync(250);
    await flush();

    // Assess
    expect(refused.closedWith).toBeDefined();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(new URL(FakeWebSocket.last().url).host).toBe('a.test');
  });

  it('counts an attempt that never opens within connectTimeoutMs as a failure', async () => {
    // Prepare
    harness = createHarness({ connectTimeoutMs: 5_000, failoverAfter: 1 });
    await flush();
    const silent = FakeWebSocket.last();

    // Act
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess
    expect(silent.closedWith).toBeDefined();
    expect(harness.states).toContainEqual(
      expect.objectContaining({ state: 'failed-over', from: ENDPOINTS[0], endpoint: ENDPOINTS[1] }),
    );
  });

  it('fails over to the next endpoint after failoverAfter consecutive failures', async () => {
    // Prepare
    harness = createHarness({ failoverAfter: 2 });

    // Act: the global endpoint refuses twice
    await flush();
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(250);
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(250);
    const regional = await openNext();

    // Assess
    expect(FakeWebSocket.instances.map((s) => new URL(s.url).host)).toEqual([
      'global.test',
      'global.test',
      'a.test',
    ]);
    expect(regional.url.startsWith(ENDPOINTS[1] as string)).toBe(true);
    expect(harness.states.map((s) => s.state)).toEqual([
      'connecting',
      'reconnecting',
      'connecting',
      'failed-over',
      'reconnecting',
      'connecting',
      'open',
    ]);
    expect(harness.states[3]).toMatchObject({
      state: 'failed-over',
      from: ENDPOINTS[0],
      endpoint: ENDPOINTS[1],
      endpointIndex: 1,
      reason: 'unreachable',
    });
    expect(harness.client.connection).toMatchObject({ endpoint: ENDPOINTS[1], endpointIndex: 1 });
  });

  it('goes round to the first endpoint after the last one fails', async () => {
    // Prepare
    harness = createHarness({ failoverAfter: 1, endpoints: ['ws://one.test/', 'ws://two.test/'] });

    // Act
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await flush();
      FakeWebSocket.last().refuse();
      await vi.advanceTimersByTimeAsync(250);
    }
    await flush();

    // Assess
    expect(FakeWebSocket.instances.map((s) => new URL(s.url).host)).toEqual([
      'one.test',
      'two.test',
      'one.test',
      'two.test',
    ]);
  });

  it('does not count the drop of a healthy connection towards failover', async () => {
    // Prepare
    harness = createHarness({ failoverAfter: 2 });
    const first = await openNext();

    // Act: a working connection drops, then one attempt fails, then the endpoint is back
    first.drop();
    await vi.advanceTimersByTimeAsync(250);
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(250);
    await openNext();

    // Assess
    expect(FakeWebSocket.instances.every((s) => new URL(s.url).host === 'global.test')).toBe(true);
    expect(harness.states.some((s) => s.state === 'failed-over')).toBe(false);
  });

  it('returns to the preferred endpoint when it recovers, rejoining before closing the old connection', async () => {
    // Prepare: the global endpoint fails, the client lands on a regional one and joins a room
    harness = createHarness({ failoverAfter: 1, preferredRetryMs: 60_000, pingIntervalMs: 3_600_000 });
    await flush();
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(250);
    const regional = await openNext();
    await joinRoom(harness, regional, 'lobby', { 'eu-west-1': 4 });
    regional.reply(message('lobby', 'eu-west-1', 5));

    // Act: a minute later the client probes the preferred endpoint, which now answers
    await vi.advanceTimersByTimeAsync(60_000);
    const probe = FakeWebSocket.last();
    probe.open();

    // Assess
    expect(new URL(probe.url).host).toBe('global.test');
    expect(probe.take('join')).toMatchObject({ room: 'lobby', since: { 'eu-west-1': 5 } });
    expect(regional.closedWith?.code).toBe(1000);
    expect(harness.states.slice(-2)).toEqual([
      expect.objectContaining({
        state: 'failed-over',
        from: ENDPOINTS[1],
        endpoint: ENDPOINTS[0],
        reason: 'preferred-recovered',
      }),
      expect.objectContaining({ state: 'open', endpoint: ENDPOINTS[0], endpointIndex: 0 }),
    ]);
    expect(harness.client.connection.endpointIndex).toBe(0);
  });

  it('stays on the current endpoint while the preferred one is still down, and probes again later', async () => {
    // Prepare
    harness = createHarness({ failoverAfter: 1, preferredRetryMs: 60_000, pingIntervalMs: 3_600_000 });
    await flush();
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(250);
    const regional = await openNext();

    // Act
    await vi.advanceTimersByTimeAsync(60_000);
    const firstProbe = FakeWebSocket.last();
    firstProbe.refuse();
    await vi.advanceTimersByTimeAsync(60_000);
    const secondProbe = FakeWebSocket.last();

    // Assess
    expect(firstProbe).not.toBe(regional);
    expect(secondProbe).not.toBe(firstProbe);
    expect(new URL(secondProbe.url).host).toBe('global.test');
    expect(regional.closedWith).toBeUndefined();
    expect(harness.client.connection.endpointIndex).toBe(1);
    expect(harness.client.state).toBe('open');
  });

  it('reconnects proactively before API Gateway’s two-hour limit, without backoff', async () => {
    // Prepare
    harness = createHarness({ maxConnectionMs: 110 * 60_000, pingIntervalMs: 3 * 3_600_000 });
    const first = await openNext();
    await joinRoom(harness, first, 'lobby', { 'us-east-1': 1 });

    // Act
    await vi.advanceTimersByTimeAsync(110 * 60_000);
    const second = await openNext();

    // Assess
    expect(first.closedWith?.code).toBe(1000);
    expect(harness.states).toContainEqual(expect.objectContaining({ state: 'reconnecting', delayMs: 0 }));
    expect(new URL(second.url).host).toBe('global.test');
    expect(second.take('join')).toMatchObject({ room: 'lobby', since: { 'us-east-1': 1 } });
  });

  it('close() ends the connection for good and rejects what was pending', async () => {
    // Prepare
    harness = createHarness();
    const socket = await openNext();
    await joinRoom(harness, socket, 'lobby');
    // Settle outcomes as they happen, so the rejections are observed when they occur.
    const sent = harness.client.send('lobby', 'hi').catch((error: unknown) => error);
    const joining = harness.client.join('other').catch((error: unknown) => error);

    // Act
    harness.client.close();
    await vi.advanceTimersByTimeAsync(120_000);

    // Assess
    expect(await sent).toBeInstanceOf(ConnectionClosedError);
    expect(await joining).toMatchObject({ code: 'connection_closed', room: 'other' });
    expect(socket.closedWith?.code).toBe(1000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(harness.states.at(-1)).toEqual({ state: 'closed', reason: 'closed by the client' });
    await expect(harness.client.whenOpen()).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});
