/**
 * `npm start` itself: prints the endpoints when ready, serves them, passes every `-c key=value` to
 * the synthesis (so the handlers run that configuration), refuses a malformed `-c` and a value the
 * app refuses with exit code 2 and a message, and on SIGTERM stops every process it started (the
 * Java engines included), leaving nothing running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config.js';
import { freePort } from '../../local/stack.js';
import { signLocalToken } from '../../local/token.js';
import { runProcess } from '../helpers/process.js';
import { connect, type Frame, refusedStatus } from './helpers.js';

let child: ChildProcess | undefined;

afterAll(() => {
  // Only if an assertion failed half-way: the last test itself stops the stack.
  if (child?.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
});

/** Child pids of `pid`, from /proc (no dependency on `ps`). */
const childrenOf = (pid: number): number[] =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start with a bad -c', () => {
  it.each([
    ['sendBurst', 'has no "="'],
    ['=5', 'has no key'],
  ])(
    'refuses -c %s before starting anything, with exit code 2: the assignment %s',
    async (assignment, problem) => {
      const result = await runProcess('npm', ['start', '--', '-c', assignment]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `-c/--context takes key=value, e.g. -c sendBurst=5; "${assignment}" ${problem}\n`,
      );
      expect(result.stdout).not.toContain('Parley local stack: starting');
    },
  );

  it('refuses an --allow-origin that is not scheme://host[:port] with exit code 2, before starting anything', async () => {
    const result = await runProcess('npm', ['start', '--', '--allow-origin', '*']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--allow-origin: an allowed origin is scheme://host[:port]');
    expect(result.stdout).not.toContain('Parley local stack: starting');
  });

  it('ends with the app’s ConfigError message naming the key, no stack trace, exit 2, for -c maxBodyBytes=abc', async () => {
    let appMessage = '';
    try {
      parseConfig((key) => (key === 'maxBodyBytes' ? 'abc' : undefined));
    } catch (error) {
      if (error instanceof ConfigError) appMessage = error.message;
    }
    expect(appMessage).toContain('"maxBodyBytes"');
    const [port, first, second] = [await freePort(), await freePort(), await freePort()];
    const result = await runProcess('npm', [
      'start',
      '--',
      '--port',
      String(port),
      '--region-ports',
      `${first},${second}`,
      '-c',
      'maxBodyBytes=abc',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Parley: ${appMessage}\n`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('the local stack failed to start');
  });
});

// One stack start serves the tests below, in order (each start takes seconds on 2 cores); the last
// one stops it.
describe('npm start', () => {
  /** A developer's own front end, allowed with --allow-origin. */
  const FRONT_END = 'http://localhost:3000';
  const ports = { global: 0, first: 0, second: 0 };
  let output = '';

  beforeAll(async () => {
    Object.assign(ports, { global: await freePort(), first: await freePort(), second: await freePort() });
    // Both spellings of the context flag. A rate of 1 per second keeps the bucket from refilling
    // while one burst of sends is handled.
    const started = spawn(
      'npm',
      [
        'start',
        '--',
        '--port',
        String(ports.global),
        '--region-ports',
        `${ports.first},${ports.second}`,
        '-c',
        'sendBurst=5',
        '--context',
        'sendRatePerSecond=1',
        '--allow-origin',
        FRONT_END,
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    // Ready is a line it prints; an exit before it fails the start with what it printed.
    await new Promise<void>((resolve, reject) => {
      const collect = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/ready in [\d.]+ s/.test(output)) resolve();
      };
      started.stdout?.on('data', collect);
      started.stderr?.on('data', collect);
      started.once('exit', (code) =>
        reject(new Error(`npm start exited (${code}) before ready:\n${output}`)),
      );
    });
  });

  it('prints the endpoints when ready and serves them', async () => {
    expect(output).toContain(`ws://127.0.0.1:${ports.global}/`);
    expect(output).toContain(`ws://127.0.0.1:${ports.first}/`);
    expect(output).toContain(`ws://127.0.0.1:${ports.second}/`);
    expect(output).toContain(`http://127.0.0.1:${ports.global}/_local/regions`);
    for (const regionPort of [ports.first, ports.second]) {
      expect((await fetch(`http://127.0.0.1:${regionPort}/health`)).status).toBe(200);
    }
  });

  it('passes -c keys to the handlers: with -c sendBurst=5, 5 of 8 sends at once are acked, 3 rate_limited', async () => {
    const client = await connect(`ws://127.0.0.1:${ports.first}/?token=${await signLocalToken('carol')}`);
    try {
      expect(await client.request({ action: 'join', room: 'burst' })).toMatchObject({ type: 'joined' });
      const refs = Array.from({ length: 8 }, (_, index) => `burst-${index}`);
      for (const ref of refs) client.send({ action: 'send', room: 'burst', id: ref, body: ref, ref });
      const replies: Frame[] = await Promise.all(
        refs.map((ref) => client.next((f) => f.ref === ref, 30_000)),
      );
      const acks = replies.filter((f) => f.type === 'ack');
      const refused = replies.filter((f) => f.type === 'error');
      expect(acks).toHaveLength(5);
      expect(refused).toHaveLength(3);
      // The refusal states the limits the handler read from SEND_RATE_PER_SECOND and SEND_BURST.
      for (const f of refused) {
        expect(f).toMatchObject({
          code: 'rate_limited',
          message: 'at most 1 sends per second (bursts of 5); retry later',
        });
      }
    } finally {
      await client.close();
    }
  });

  it('lets pages of --allow-origin open a WebSocket, and no other origin', async () => {
    const token = await signLocalToken('dana');
    for (const port of [ports.global, ports.first]) {
      const url = `ws://127.0.0.1:${port}/?token=${token}`;
      const client = await connect(url, { origin: FRONT_END });
      expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
      await client.close();
      expect(await refusedStatus(url, { origin: 'https://evil.example' })).toBe(403);
    }
  });

  it('leaves nothing running after SIGTERM', async () => {
    const started = child as ChildProcess;
    // npm runs the CLI in its own process (exec); its children are the engines.
    const cli = childrenOf(started.pid as number);
    const engines = cli.flatMap(childrenOf);
    expect(engines.length).toBeGreaterThanOrEqual(2);
    const exited = new Promise<number | null>((resolve) => started.once('exit', resolve));
    started.kill('SIGTERM');
    await exited;
    await expect.poll(() => [...cli, ...engines].filter(alive), { timeout: 15_000 }).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${ports.first}/health`)).rejects.toThrow();
  });
});
