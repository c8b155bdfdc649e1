// @vitest-environment happy-dom
/**
 * The web chat page in a DOM (happy-dom): the real `web/index.html` and `web/app.ts`, with the
 * local stack's HTTP endpoints and the WebSocket played by the test.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-web-socket.js';
import { flush, message } from './harness.js';

const REGIONS = {
  globalEndpoint: 'ws://127.0.0.1:4510/',
  routedTo: 'us-east-1',
  regions: [
    {
      name: 'us-east-1',
      primary: true,
      endpoint: 'ws://127.0.0.1:4511/',
      state: 'healthy',
      healthCheck: 'healthy',
    },
    {
      name: 'eu-west-1',
      primary: false,
      endpoint: 'ws://127.0.0.1:4512/',
      state: 'healthy',
      healthCheck: 'healthy',
    },
  ],
};

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const $ = (id: string): HTMLElement => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`no #${id}`);
  return element;
};

const submit = (id: string): void => {
  $(id).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
};

describe('Web page', () => {
  const tokenRequests: string[] = [];

  beforeAll(async () => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
    // A path, not a URL object: in this environment URL is the DOM's, which node:fs does not take.
    const html = await readFile(
      join(dirname(fileURLToPath(import.meta.url)), '../../../web/index.html'),
      'utf8',
    );
    // The test installs the page's own static markup; the page itself never writes markup.
    document.body.innerHTML = /<body>([\s\S]*)<\/body>/.exec(html)?.[1] ?? '';
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string) => {
        const url = new URL(input, 'http://127.0.0.1:4510');
        if (url.pathname === '/_local/regions') return json(REGIONS);
        if (url.pathname === '/_local/token') {
          tokenRequests.push(url.searchParams.get('user') ?? '');
          return json({ token: `token-of-${url.searchParams.get('user')}` });
        }
        return json({ message: 'Not Found' }, 404);
      }),
    );
    await import('../../../web/app.js');
  });

  afterAll(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('signs in with a local token and connects to the global endpoint first', async () => {
    // Act
    ($('user') as HTMLInputElement).value = 'alice';
    ($('first-room') as HTMLInputElement).value = 'lobby';
    submit('signin-form');
    await flush();
    const socket = FakeWebSocket.last();
    socket.open();
    socket.pong();

    // Assess
    expect(tokenRequests).toEqual(['alice']);
    expect(socket.url).toBe('ws://127.0.0.1:4510/?token=token-of-alice');
    expect($('signin').hidden).toBe(true);
    expect($('app').hidden).toBe(false);
    expect($('state').textContent).toBe('open');
    expect($('whoami').textContent).toBe('signed in as alice');
  });

  it('joins the first room, shows the region, the members and the latest history, as text only', async () => {
    // Prepare
    const socket = FakeWebSocket.last();
    const join = socket.take('join');

    // Act
    socket.reply({
      type: 'joined',
      ref: join.ref,
      room: 'lobby',
      cursor: { 'us-east-1': 2 },
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
      ],
      region: 'us-east-1',
    });
    await flush();
    const history = socket.take('history');
    socket.reply({
      type: 'history',
      ref: history.ref,
      room: 'lobby',
      messages: [
        message('lobby', 'us-east-1', 1, { from: 'bob', body: '<img src=x onerror="globalThis.pwned=1">' }),
        message('lobby', 'us-east-1', 2, { from: '<b>eve</b>', body: { structured: true } }),
      ],
    });
    await flush();

    // Assess
    expect(join).toMatchObject({ room: 'lobby' });
    expect(history).toMatchObject({ room: 'lobby', limit: 50 });
    expect($('region').textContent).toBe('region: us-east-1');
    expect($('room-title').textContent).toBe('#lobby');
    expect([...$('members').children].map((li) => li.textContent)).toEqual([
      'alice (us-east-1)',
      'bob (eu-west-1)',
    ]);
    const items = [...$('messages').children];
    expect(items.map((li) => li.querySelector('.from')?.textContent)).toEqual(['bob', '<b>eve</b>']);
    expect(items.map((li) => li.querySelector('.body')?.textContent)).toEqual([
      '<img src=x onerror="globalThis.pwned=1">',
      '{"structured":true}',
    ]);
    expect($('messages').querySelector('img, b')).toBeNull();
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
    // The whole history fitted in one page: no older page to load.
    expect($('older').hidden).toBe(true);
  });

  it('sends what is typed, and shows live messages as they arrive', async () => {
    // Prepare
    const socket = FakeWebSocket.last();

    // Act
    ($('message-input') as HTMLInputElement).value = 'hello everyone';
    submit('composer');
    const sent = socket.take('send');
    socket.reply({
      type: 'ack',
      ref: sent.ref,
      room: 'lobby',
      id: sent.id,
      origin: 'us-east-1',
      seq: 3,
      ts: 1_003,
    });
    socket.reply(
      message('lobby', 'us-east-1', 3, { id: sent.id as string, from: 'alice', body: 'hello everyone' }),
    );
    await flush();

    // Assess
    expect(sent).toMatchObject({ room: 'lobby', body: 'hello everyone' });
    expect(($('message-input') as HTMLInputElement).value).toBe('');
    expect($('messages').lastElementChild?.querySelector('.body')?.textContent).toBe('hello everyone');
    expect($('chat-error').textContent).toBe('');
  });

  it('after a failover shows the new region and “reconnected, caught up N messages”', async () => {
    // Prepare
    const before = FakeWebSocket.last();

    // Act: us-east-1 fails; the global endpoint and us-east-1's own each refuse twice; eu-west-1 answers
    before.drop();
    expect($('state').textContent).toBe('reconnecting');
    // Each wait covers the longest backoff here (2 s) and stays under the 10 s connect timeout.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await vi.advanceTimersByTimeAsync(5_000);
      FakeWebSocket.last().refuse();
    }
    await vi.advanceTimersByTimeAsync(5_000);
    const after = FakeWebSocket.last();
    after.open();
    after.pong();
    const rejoin = after.take('join');
    after.reply({
      type: 'joined',
      ref: rejoin.ref,
      room: 'lobby',
      cursor: { 'us-east-1': 3, 'eu-west-1': 2 },
      members: [{ user: 'alice', region: 'eu-west-1' }],
      region: 'eu-west-1',
    });
    after.reply(message('lobby', 'eu-west-1', 1, { from: 'bob', body: 'while you were away', ts: 2_001 }));
    after.reply(message('lobby', 'eu-west-1', 2, { from: 'bob', body: 'still away', ts: 2_002 }));
    await flush();

    // Assess
    expect(new URL(after.url).port).toBe('4512');
    expect(rejoin).toMatchObject({ room: 'lobby', since: { 'us-east-1': 3 } });
    expect($('state').textContent).toBe('open');
    expect($('region').textContent).toBe('region: eu-west-1');
    expect($('notice').hidden).toBe(false);
    expect($('notice').textContent).toBe('reconnected to eu-west-1, caught up 2 messages');
    expect([...$('messages').children].slice(-2).map((li) => li.querySelector('.body')?.textContent)).toEqual(
      ['while you were away', 'still away'],
    );
  });

  it('joins and leaves another room', async () => {
    // Prepare
    const socket = FakeWebSocket.last();

    // Act
    ($('room-input') as HTMLInputElement).value = 'ops';
    submit('join-form');
    const join = socket.take('join');
    socket.reply({ type: 'joined', ref: join.ref, room: 'ops', cursor: {}, members: [] });
    await flush();
    socket.reply({ type: 'history', ref: socket.take('history').ref, room: 'ops', messages: [] });
    await flush();
    const roomsWhileJoined = [...$('rooms').children].map((li) => (li as HTMLElement).dataset.room);
    const titleWhileJoined = $('room-title').textContent;
    ($('leave') as HTMLButtonElement).click();
    const leave = socket.take('leave');
    socket.reply({ type: 'left', ref: leave.ref, room: 'ops' });
    await flush();

    // Assess
    expect(roomsWhileJoined).toEqual(['lobby', 'ops']);
    expect(titleWhileJoined).toBe('#ops');
    expect(leave).toMatchObject({ room: 'ops' });
    expect([...$('rooms').children].map((li) => (li as HTMLElement).dataset.room)).toEqual(['lobby']);
    expect($('room-title').textContent).toBe('#lobby');
  });

  it('shows how many more members a cut list leaves out, and keeps the count current', async () => {
    // Prepare
    const socket = FakeWebSocket.last();

    // Act: a crowded room lists two of 1,500 members
    ($('room-input') as HTMLInputElement).value = 'crowd';
    submit('join-form');
    const join = socket.take('join');
    socket.reply({
      type: 'joined',
      ref: join.ref,
      room: 'crowd',
      cursor: {},
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
      ],
      memberCount: 1_500,
    });
    await flush();
    socket.reply({ type: 'history', ref: socket.take('history').ref, room: 'crowd', messages: [] });
    await flush();
    const whenJoined = [...$('members').children].map((li) => li.textContent);
    socket.reply({ type: 'presence', room: 'crowd', event: 'join', user: 'carol', region: 'us-east-1' });
    await flush();

    // Assess
    expect(whenJoined).toEqual(['alice (us-east-1)', 'bob (eu-west-1)', 'and 1,498 more']);
    expect([...$('members').children].map((li) => li.textContent)).toEqual([
      'alice (us-east-1)',
      'bob (eu-west-1)',
      'carol (us-east-1)',
      'and 1,498 more',
    ]);
    expect($('members').lastElementChild?.className).toBe('more');
  });
});
