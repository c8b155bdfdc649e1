/**
 * The terminal chat: `npm run chat -- --user alice --room lobby [--endpoint ws://...]...`.
 *
 * Reads lines from stdin (a `/command` or text to send to the current room) and prints messages,
 * presence and connection changes. Against the local stack it signs its own token (HS256 with
 * `--secret`, `PARLEY_JWT_SECRET` or the local default); elsewhere pass `--token`.
 */
import { createInterface } from 'node:readline';
import { SignJWT } from 'jose';
import { ParleyClient } from '../client.js';
import { ParleyError } from '../errors.js';
import {
  type ChatOptions,
  formatCaughtUp,
  formatMembers,
  formatMessage,
  formatPresence,
  formatState,
  parseChatArgs,
  parseInputLine,
  USAGE,
  UsageError,
} from './chat-commands.js';

const HISTORY_PAGE = 20;

/** Signs a one-day HS256 token for `user`, as the local stack expects. */
const signToken = async (user: string, secret: string): Promise<string> => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt(now)
    .setExpirationTime(now + 86_400)
    .sign(new TextEncoder().encode(secret));
};

const describe = (error: unknown): string =>
  error instanceof ParleyError ? `${error.code}: ${error.message}` : String(error);

const run = async (options: ChatOptions): Promise<void> => {
  const print = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const client = new ParleyClient({
    endpoints: options.endpoints,
    // A fresh token for every connection attempt, so a long session never presents an expired one.
    token: () => options.token ?? signToken(options.user, options.secret),
  });
  let current = options.room;
  /**
   * Per room, where the next `/history` page starts: absent for the newest page, a `ts` for an
   * older one, `'start'` once the start of the room's history was printed.
   */
  const olderThan = new Map<string, number | 'start'>();

  client.on('message', (message) => print(formatMessage(message, { showRoom: client.rooms().length > 1 })));
  client.on('presence', (event) => print(formatPresence(event)));
  client.on('state', (event) => print(formatState(event)));
  client.on('caughtUp', (event) => {
    if (event.count > 0 || event.reason === 'reconnect') print(formatCaughtUp(event));
  });
  client.on('error', (error) => print(`! ${describe(error)}`));

  const join = async (room: string): Promise<void> => {
    try {
      const joined = await client.join(room);
      current = room;
      print(`* joined #${room}`);
      print(formatMembers(room, joined.members, joined.memberCount));
    } catch (error) {
      print(`! could not join #${room}: ${describe(error)}`);
    }
  };

  const input = createInterface({ input: process.stdin, terminal: false });
  // Iterate from the start: lines that arrive while the first join is in flight (piped input) are
  // buffered by the iterator instead of being emitted to nobody.
  const lines = input[Symbol.asyncIterator]();
  /** Sends not yet acknowledged: quitting (or the end of piped input) waits for them. */
  const unacked = new Set<Promise<void>>();
  let quitting = false;
  const quit = async (): Promise<void> => {
    if (quitting) return;
    quitting = true;
    input.close();
    await Promise.allSettled([...unacked]);
    client.close('bye');
  };
  process.once('SIGINT', () => void quit());

  await join(current);

  for await (const line of { [Symbol.asyncIterator]: () => lines }) {
    const command = parseInputLine(line);
    switch (command.kind) {
      case 'empty':
        break;
      case 'send': {
        const sent = client.send(current, command.body).then(
          () => undefined,
          (error: unknown) => print(`! not sent: ${describe(error)}`),
        );
        unacked.add(sent);
        void sent.finally(() => unacked.delete(sent));
        break;
      }
      case 'join':
        await join(command.room);
        break;
      case 'leave': {
        const room = command.room ?? current;
        await client.leave(room).catch((error: unknown) => print(`! ${describe(error)}`));
        olderThan.delete(room);
        print(`* left #${room}`);
        if (room === current) current = client.rooms()[0] ?? current;
        break;
      }
      case 'history': {
        const before = olderThan.get(current);
        if (before === 'start') {
          print(`* no older messages in #${current}`);
          break;
        }
        try {
          const page = await client.history(current, { limit: HISTORY_PAGE, before });
          if (page.messages.length === 0) print(`* no older messages in #${current}`);
          for (const message of page.messages) print(formatMessage(message, { showRoom: true }));
          olderThan.set(current, page.nextBefore ?? 'start');
        } catch (error) {
          print(`! ${describe(error)}`);
        }
        break;
      }
      case 'who':
        try {
          const page = await client.presencePage(current);
          print(formatMembers(current, page.members, page.memberCount));
        } catch (error) {
          print(`! ${describe(error)}`);
        }
        break;
      case 'help':
        print(USAGE);
        break;
      case 'quit':
        await quit();
        break;
      case 'invalid':
        print(`! ${command.message}`);
        break;
    }
    if (quitting) break;
  }
  await quit();
};

const main = async (): Promise<void> => {
  let options: ChatOptions | 'help';
  try {
    options = parseChatArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  await run(options);
};

await main();
