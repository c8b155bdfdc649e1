/**
 * The terminal chat (`client/cli/chat.ts`) against the local stack: two chat processes, one per
 * region, with piped stdin and stdout, exchange lines; `/who`, `/history`, `/join`, `/leave` and
 * `/quit` behave, and each process exits on its own.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { eventually, startTestStack } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');

let stack: LocalStack;
let primary: string;
let secondary: string;
const chats: Chat[] = [];

/** A running chat process and what it printed. */
interface Chat {
  child: ChildProcessWithoutNullStreams;
  /** Complete stdout lines so far. */
  lines: string[];
  stderr: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Writes one line to its stdin. */
  type(line: string): void;
  /** Resolves with the first line (printed so far or later) after `from` that matches. */
  waitFor(match: RegExp, from?: number): Promise<string>;
}

/** Starts `chat.ts` as `npm run chat` does (tsx), with the test's Node. */
const startChat = (args: string[]): Chat => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli/chat.ts', ...args], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: 'pipe',
  });
  const lines: string[] = [];
  let partial = '';
  const chat: Chat = {
    child,
    lines,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    type: (line) => {
      child.stdin.write(`${line}\n`);
    },
    waitFor: async (match, from = 0) =>
      eventually(async () => lines.slice(from).find((line) => match.test(line)), 30_000, 50).catch(
        (error: unknown) => {
          throw new Error(
            `${String(error)}; waiting for ${match}; stdout:\n${lines.join('\n')}\nstderr:\n${chat.stderr}`,
          );
        },
      ),
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data: string) => {
    partial += data;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (data: string) => {
    chat.stderr += data;
  });
  chats.push(chat);
  return chat;
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  stack = await startTestStack();
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterAll(async () => {
  for (const chat of chats) {
    if (chat.child.exitCode === null && chat.child.signalCode === null) chat.child.kill('SIGTERM');
  }
  await Promise.all(chats.map((chat) => chat.exited));
  await stack?.stop();
});

describe('Terminal chat on the local stack', () => {
  it('two chats in two regions talk, and /who, /history, /join, /leave, /quit behave', async () => {
    const room = 'cli-lobby';
    const alice = startChat([
      '--user',
      'alice',
      '--room',
      room,
      '--endpoint',
      stack.endpoints.regions[primary] as string,
    ]);
    await alice.waitFor(new RegExp(`^\\* joined #${room}$`));
    const bob = startChat([
      '--user',
      'bob',
      '--room',
      room,
      '--endpoint',
      stack.endpoints.regions[secondary] as string,
    ]);
    await bob.waitFor(new RegExp(`^\\* joined #${room}$`));
    // alice, in the other region, is told that bob came.
    await alice.waitFor(new RegExp(`^\\* bob joined #${room} \\(${escapeRegExp(secondary)}\\)$`));

    // Lines typed in one region are printed in the other, with the sender.
    alice.type('hello from alice');
    await bob.waitFor(/^\[\d\d:\d\d:\d\d\] alice: hello from alice$/);
    bob.type('hi alice, bob here');
    await alice.waitFor(/^\[\d\d:\d\d:\d\d\] bob: hi alice, bob here$/);
    // Control characters are shown escaped, not passed to the terminal.
    bob.type('bell \u0007 here');
    await alice.waitFor(/^\[\d\d:\d\d:\d\d\] bob: bell \\u0007 here$/);

    // /who lists both users with their regions.
    let mark = alice.lines.length;
    alice.type('/who');
    const who = await alice.waitFor(/^\* in #/, mark);
    expect(who).toBe(`* in #${room}: alice (${primary}), bob (${secondary})`);

    // /history prints the room's messages, oldest first, and says when there is nothing older.
    mark = alice.lines.length;
    alice.type('/history');
    const first = await alice.waitFor(/alice: hello from alice$/, mark);
    const last = await alice.waitFor(/bob: bell \\u0007 here$/, mark);
    expect(first).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] #${room} alice: hello from alice$`));
    expect(alice.lines.indexOf(first, mark)).toBeLessThan(alice.lines.indexOf(last, mark));
    await alice.waitFor(/bob: hi alice, bob here$/, mark);
    mark = alice.lines.length;
    alice.type('/history');
    await alice.waitFor(new RegExp(`^\\* no older messages in #${room}$`), mark);

    // /join moves alice to another room: what she types goes there, not to bob's room.
    alice.type('/join cli-side');
    await alice.waitFor(/^\* joined #cli-side$/);
    await alice.waitFor(/^\* in #cli-side: alice/);
    alice.type('only in the side room');
    await alice.waitFor(/#cli-side alice: only in the side room$/);
    // bob's next message still reaches alice (she is in both rooms), and bob never saw the other.
    mark = alice.lines.length;
    bob.type('still in the lobby');
    await alice.waitFor(new RegExp(`#${room} bob: still in the lobby$`), mark);
    expect(bob.lines.some((line) => line.includes('only in the side room'))).toBe(false);

    // /leave leaves the current room (the side room), then the lobby: bob sees alice go.
    mark = alice.lines.length;
    alice.type('/leave');
    await alice.waitFor(/^\* left #cli-side$/, mark);
    const bobMark = bob.lines.length;
    alice.type(`/leave ${room}`);
    await alice.waitFor(new RegExp(`^\\* left #${room}$`), mark);
    await bob.waitFor(new RegExp(`^\\* alice left #${room} \\(${escapeRegExp(primary)}\\)$`), bobMark);
    mark = bob.lines.length;
    bob.type('/who');
    expect(await bob.waitFor(/^\* in #/, mark)).toBe(`* in #${room}: bob (${secondary})`);

    // Unknown commands are refused with a hint, and nothing is sent.
    mark = bob.lines.length;
    bob.type('/dance');
    expect(await bob.waitFor(/^! /, mark)).toBe('! unknown command /dance; try /help');

    // /quit ends alice's process; the end of bob's piped input ends his.
    alice.type('/quit');
    expect(await alice.exited).toBe(0);
    bob.child.stdin.end();
    expect(await bob.exited).toBe(0);
    expect(alice.stderr).toBe('');
    expect(bob.stderr).toBe('');
  }, 300_000);
});
