import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LOCAL_SECRET,
  formatBody,
  formatCaughtUp,
  formatMembers,
  formatMessage,
  formatPresence,
  formatState,
  LOCAL_ENDPOINTS,
  parseChatArgs,
  parseInputLine,
  UsageError,
} from '../../../client/cli/chat-commands.js';
import { message } from './harness.js';

describe('Chat: arguments', () => {
  it('defaults to the lobby, the local stack’s endpoints and the local secret', () => {
    expect(parseChatArgs(['--user', 'alice'], {})).toEqual({
      user: 'alice',
      room: 'lobby',
      endpoints: LOCAL_ENDPOINTS,
      token: undefined,
      secret: DEFAULT_LOCAL_SECRET,
    });
  });

  it('takes repeated endpoints in order, a room, a token, and the secret from the environment', () => {
    const options = parseChatArgs(
      [
        '--user',
        'bob',
        '--room',
        'ops',
        '--endpoint',
        'wss://a.example/prod',
        '--endpoint',
        'wss://b.example/prod',
        '--token',
        'T',
      ],
      { PARLEY_JWT_SECRET: 'from-env' },
    );
    expect(options).toEqual({
      user: 'bob',
      room: 'ops',
      endpoints: ['wss://a.example/prod', 'wss://b.example/prod'],
      token: 'T',
      secret: 'from-env',
    });
  });

  it('prefers --secret over PARLEY_JWT_SECRET', () => {
    expect(parseChatArgs(['--user', 'a', '--secret', 'S'], { PARLEY_JWT_SECRET: 'env' })).toMatchObject({
      secret: 'S',
    });
  });

  it('answers --help', () => {
    expect(parseChatArgs(['--help'], {})).toBe('help');
  });

  it.each([
    [[], /--user is required/],
    [['--user', 'a', '--room', 'bad room'], /--room must match/],
    [['--user', 'a', '--endpoint', 'http://x'], /ws:\/\/ or wss:\/\//],
    [['--user', 'a', '--bogus'], /bogus/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseChatArgs(argv, {})).toThrow(UsageError);
    expect(() => parseChatArgs(argv, {})).toThrow(message);
  });
});

describe('Chat: input lines', () => {
  it.each([
    ['hello there', { kind: 'send', body: 'hello there' }],
    ['  padded  ', { kind: 'send', body: 'padded' }],
    ['//not a command', { kind: 'send', body: '/not a command' }],
    ['', { kind: 'empty' }],
    ['/join general', { kind: 'join', room: 'general' }],
    ['/JOIN general', { kind: 'join', room: 'general' }],
    ['/leave', { kind: 'leave', room: undefined }],
    ['/leave general', { kind: 'leave', room: 'general' }],
    ['/history', { kind: 'history' }],
    ['/who', { kind: 'who' }],
    ['/help', { kind: 'help' }],
    ['/quit', { kind: 'quit' }],
    ['/exit', { kind: 'quit' }],
  ])('parses %j', (line, command) => {
    expect(parseInputLine(line)).toEqual(command);
  });

  it.each([
    ['/join', 'usage: /join <room>'],
    ['/join a b', 'usage: /join <room>'],
    ['/join bad!room', 'not a valid room name: bad!room'],
    ['/leave a b', 'usage: /leave [room]'],
    ['/dance', 'unknown command /dance; try /help'],
  ])('refuses %j', (line, reason) => {
    expect(parseInputLine(line)).toEqual({ kind: 'invalid', message: reason });
  });
});

describe('Chat: output', () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);

  it('prints a message as [time] user: body', () => {
    expect(
      formatMessage(message('lobby', 'us-east-1', 1, { from: 'alice', body: 'hi', ts: at }), { utc: true }),
    ).toBe('[03:04:05] alice: hi');
  });

  it('adds the room when asked, and prints non-string bodies as JSON', () => {
    const m = message('ops', 'us-east-1', 1, { from: 'bot', body: { level: 'warn', n: 2 }, ts: at });
    expect(formatMessage(m, { utc: true, showRoom: true })).toBe(
      '[03:04:05] #ops bot: {"level":"warn","n":2}',
    );
  });

  it('neutralizes terminal escape sequences in bodies and names', () => {
    const m = message('lobby', 'us-east-1', 1, {
      from: 'eve\u001b[2J',
      body: 'x\u001b]0;pwned\u0007y\nz',
      ts: at,
    });
    const line = formatMessage(m, { utc: true });
    expect(line).toBe('[03:04:05] eve\\u001b[2J: x\\u001b]0;pwned\\u0007y\\u000az');
    expect([...line].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(formatBody(null)).toBe('null');
  });

  it('prints presence changes and member lists', () => {
    expect(
      formatPresence({ room: 'lobby', event: 'join', user: 'bob', region: 'eu-west-1', members: [] }),
    ).toBe('* bob joined #lobby (eu-west-1)');
    expect(
      formatPresence({ room: 'lobby', event: 'leave', user: 'bob', region: 'eu-west-1', members: [] }),
    ).toBe('* bob left #lobby (eu-west-1)');
    expect(
      formatMembers('lobby', [
        { user: 'zoe', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
        { user: 'bob', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
      ]),
    ).toBe('* in #lobby: bob (eu-west-1, us-east-1), zoe (us-east-1)');
    expect(formatMembers('empty', [])).toBe('* nobody in #empty');
  });

  it('says how many more members a cut list leaves out, as /who and a join print it', () => {
    const listed = [
      { user: 'alice', region: 'us-east-1' },
      { user: 'bob', region: 'eu-west-1' },
    ];
    expect(formatMembers('lobby', listed, 1_500)).toBe(
      '* in #lobby: alice (us-east-1), bob (eu-west-1) and 1,498 more',
    );
    // Whole lists, or no count (a v1 server): nothing more to say.
    expect(formatMembers('lobby', listed, 2)).toBe('* in #lobby: alice (us-east-1), bob (eu-west-1)');
    expect(formatMembers('lobby', listed)).toBe('* in #lobby: alice (us-east-1), bob (eu-west-1)');
    expect(formatMembers('lobby', [], 3)).toBe('* in #lobby: 3 more');
  });

  it('prints every kind of state change', () => {
    expect(formatState({ state: 'connecting', endpoint: 'ws://a/', endpointIndex: 0, attempt: 0 })).toBe(
      '* connecting to ws://a/',
    );
    expect(formatState({ state: 'connecting', endpoint: 'ws://a/', endpointIndex: 0, attempt: 2 })).toBe(
      '* connecting to ws://a/ (attempt 3)',
    );
    expect(formatState({ state: 'open', endpoint: 'ws://a/', endpointIndex: 1, region: 'eu-west-1' })).toBe(
      '* connected to ws://a/ (eu-west-1)',
    );
    expect(
      formatState({
        state: 'reconnecting',
        endpoint: 'ws://a/',
        endpointIndex: 0,
        attempt: 1,
        delayMs: 1_250,
        reason: 'connection closed (1006)',
      }),
    ).toBe('* connection closed (1006); reconnecting to ws://a/ in 1.3 s');
    expect(
      formatState({
        state: 'failed-over',
        from: 'ws://a/',
        endpoint: 'ws://b/',
        endpointIndex: 1,
        reason: 'unreachable',
      }),
    ).toBe('* ws://a/ is unreachable; failing over to ws://b/');
    expect(
      formatState({
        state: 'failed-over',
        from: 'ws://b/',
        endpoint: 'ws://a/',
        endpointIndex: 0,
        reason: 'preferred-recovered',
      }),
    ).toBe('* ws://a/ is back; moving to it from ws://b/');
    expect(formatState({ state: 'closed', reason: 'bye' })).toBe('* closed: bye');
  });

  it('prints the caught-up count after a resume', () => {
    expect(formatCaughtUp({ room: 'lobby', count: 3, reason: 'reconnect' })).toBe(
      '* reconnected, caught up 3 messages in #lobby',
    );
    expect(formatCaughtUp({ room: 'lobby', count: 1, reason: 'gap' })).toBe(
      '* caught up 1 message in #lobby',
    );
  });
});
