/**
 * The terminal chat's pure parts: command-line arguments, input lines, and how events are printed.
 * Kept apart from `chat.ts` (which does the I/O) so they can be tested without a terminal.
 */
import { parseArgs } from 'node:util';
import {
  isRoomName,
  type JsonValue,
  type Member,
  type MessageFrame,
  ROOM_RULE,
} from '../../protocol/index.js';
import { groupMembers, moreMembers, unlistedCount } from '../members.js';
import type { CaughtUpEvent, PresenceEvent, StateEvent } from '../types.js';

/** The local stack's endpoints (PROTOCOL.md, "Local stack"): the global one first. */
export const LOCAL_ENDPOINTS = ['ws://127.0.0.1:4510/', 'ws://127.0.0.1:4511/', 'ws://127.0.0.1:4512/'];
/** The local stack's signing secret when `PARLEY_JWT_SECRET` is not set. */
export const DEFAULT_LOCAL_SECRET = 'parley-local-secret';

export const USAGE = `usage: npm run chat -- --user <name> [--room <room>] [--endpoint <ws-url>]... [--token <jwt> | --secret <secret>]

  --user      your user name (the token's subject)
  --room      the room to join first (default: lobby)
  --endpoint  an endpoint, in order of preference; repeat for failover
              (default: the local stack, ${LOCAL_ENDPOINTS.join(' ')})
  --token     a JWT to connect with
  --secret    sign a local HS256 token with this secret
              (default: $PARLEY_JWT_SECRET, else ${DEFAULT_LOCAL_SECRET})

Commands: /join <room>, /leave [room], /history, /who, /help, /quit; anything else is sent to the current room.`;

/** The terminal chat's settings, from its arguments and environment. */
export interface ChatOptions {
  user: string;
  room: string;
  endpoints: string[];
  /** A ready token; when absent one is signed with `secret`. */
  token: string | undefined;
  secret: string;
}

/** A command-line problem: the message to print with the usage. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses the chat's arguments.
 *
 * @example
 * ```ts
 * parseChatArgs(['--user', 'alice'], {}).endpoints; // the local stack's three endpoints
 * ```
 */
export const parseChatArgs = (
  argv: string[],
  env: Record<string, string | undefined>,
): ChatOptions | 'help' => {
  let values: ReturnType<typeof parseArgsStrict>['values'];
  try {
    values = parseArgsStrict(argv).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help === true) return 'help';
  const user = values.user;
  if (user === undefined || user.length < 1 || user.length > 128) {
    throw new UsageError('--user is required (1-128 characters)');
  }
  const room = values.room ?? 'lobby';
  if (!isRoomName(room)) throw new UsageError(`--${ROOM_RULE}`);
  const endpoints = values.endpoint ?? LOCAL_ENDPOINTS;
  for (const endpoint of endpoints) {
    if (!/^wss?:\/\//.test(endpoint))
      throw new UsageError(`--endpoint must be a ws:// or wss:// URL: ${endpoint}`);
  }
  const envSecret = env.PARLEY_JWT_SECRET;
  return {
    user,
    room,
    endpoints: [...endpoints],
    token: values.token,
    secret:
      values.secret ?? (envSecret !== undefined && envSecret.length > 0 ? envSecret : DEFAULT_LOCAL_SECRET),
  };
};

const parseArgsStrict = (argv: string[]) =>
  parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      user: { type: 'string', short: 'u' },
      room: { type: 'string', short: 'r' },
      endpoint: { type: 'string', short: 'e', multiple: true },
      token: { type: 'string' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });

/** What one line typed by the user asks for. */
export type ChatCommand =
  | { kind: 'send'; body: string }
  | { kind: 'join'; room: string }
  | { kind: 'leave'; room: string | undefined }
  | { kind: 'history' }
  | { kind: 'who' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

/**
 * Parses one input line: a `/command`, or text to send. `//text` sends `/text`.
 *
 * @example
 * ```ts
 * parseInputLine('/join general'); // { kind: 'join', room: 'general' }
 * ```
 */
export const parseInputLine = (line: string): ChatCommand => {
  const text = line.trim();
  if (text.length === 0) return { kind: 'empty' };
  if (text.startsWith('//')) return { kind: 'send', body: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'send', body: text };
  const [name = '', ...args] = text.slice(1).split(/\s+/);
  const room = args[0];
  switch (name.toLowerCase()) {
    case 'join':
      if (room === undefined || args.length !== 1) return { kind: 'invalid', message: 'usage: /join <room>' };
      if (!isRoomName(room)) return { kind: 'invalid', message: `not a valid room name: ${room}` };
      return { kind: 'join', room };
    case 'leave':
      if (args.length > 1) return { kind: 'invalid', message: 'usage: /leave [room]' };
      if (room !== undefined && !isRoomName(room))
        return { kind: 'invalid', message: `not a valid room name: ${room}` };
      return { kind: 'leave', room };
    case 'history':
      return { kind: 'history' };
    case 'who':
      return { kind: 'who' };
    case 'help':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'invalid', message: `unknown command /${name}; try /help` };
  }
};

/**
 * Makes text safe for a terminal: control characters (escape sequences could move the cursor,
 * rewrite the screen or set the window title) are shown as `\uXXXX` instead of being interpreted.
 */
export const sanitize = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A body as text: strings as they are, anything else as JSON. */
export const formatBody = (body: JsonValue): string =>
  sanitize(typeof body === 'string' ? body : JSON.stringify(body));

const pad = (n: number): string => String(n).padStart(2, '0');

/** `HH:MM:SS` of a `ts`, in local time, or UTC when asked. */
export const formatTime = (ts: number, utc = false): string => {
  const date = new Date(ts);
  return utc
    ? `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
    : `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

/** Options of the formatters. */
export interface FormatOptions {
  /** Prefix messages with `#room` (when more than one room is joined). */
  showRoom?: boolean;
  /** Print times in UTC instead of local time. */
  utc?: boolean;
}

/** `[time] user: body`, optionally with the room. */
export const formatMessage = (message: MessageFrame, options: FormatOptions = {}): string => {
  const room = options.showRoom === true ? `#${message.room} ` : '';
  return `[${formatTime(message.ts, options.utc)}] ${room}${sanitize(message.from)}: ${formatBody(message.body)}`;
};

/** `* bob joined #lobby (eu-west-1)`. */
export const formatPresence = (event: PresenceEvent): string =>
  `* ${sanitize(event.user)} ${event.event === 'join' ? 'joined' : 'left'} #${event.room} (${sanitize(event.region)})`;

/**
 * The member list of a room, grouped by user, and how many more the room has when the list was cut
 * (`memberCount` beyond the members listed): `* in #lobby: alice (us-east-1), bob (eu-west-1) and 1,498 more`.
 */
export const formatMembers = (room: string, members: Member[], memberCount?: number): string => {
  const unlisted = unlistedCount(members.length, memberCount);
  if (members.length === 0)
    return unlisted === 0 ? `* nobody in #${room}` : `* in #${room}: ${moreMembers(unlisted)}`;
  const list = groupMembers(members).map(
    ({ user, regions }) => `${sanitize(user)} (${regions.map(sanitize).join(', ')})`,
  );
  return `* in #${room}: ${list.join(', ')}${unlisted === 0 ? '' : ` and ${moreMembers(unlisted)}`}`;
};

/** One line for a connection state change. */
export const formatState = (event: StateEvent): string => {
  switch (event.state) {
    case 'connecting':
      return `* connecting to ${event.endpoint}${event.attempt > 0 ? ` (attempt ${event.attempt + 1})` : ''}`;
    case 'open':
      return `* connected to ${event.endpoint}${event.region !== undefined ? ` (${event.region})` : ''}`;
    case 'reconnecting':
      return `* ${event.reason}; reconnecting to ${event.endpoint} in ${(event.delayMs / 1000).toFixed(1)} s`;
    case 'failed-over':
      return event.reason === 'preferred-recovered'
        ? `* ${event.endpoint} is back; moving to it from ${event.from}`
        : `* ${event.from} is unreachable; failing over to ${event.endpoint}`;
    case 'closed':
      return `* closed: ${event.reason}`;
  }
};

/** `* caught up 3 messages in #lobby`, after a resume. */
export const formatCaughtUp = (event: CaughtUpEvent): string =>
  `* ${event.reason === 'reconnect' ? 'reconnected, ' : ''}caught up ${event.count} message${event.count === 1 ? '' : 's'} in #${event.room}`;
