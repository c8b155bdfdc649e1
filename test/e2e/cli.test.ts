/**
 * `npm start` itself: prints the endpoints when ready, serves them, and on SIGTERM stops every
 * process it started (the Java engines included), leaving nothing running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/stack.js';

let child: ChildProcess | undefined;

afterAll(() => {
  // Only if an assertion failed half-way: the test itself stops the stack.
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

describe('npm start', () => {
  it('prints the endpoints when ready, serves them, and leaves nothing running after SIGTERM', async () => {
    const [port, first, second] = [await freePort(), await freePort(), await freePort()];
    const started = spawn(
      'npm',
      ['start', '--', '--port', String(port), '--region-ports', `${first},${second}`],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    let output = '';
    started.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await expect.poll(() => output, { timeout: 120_000, interval: 200 }).toMatch(/ready in [\d.]+ s/);
    expect(output).toContain(`ws://127.0.0.1:${port}/`);
    expect(output).toContain(`ws://127.0.0.1:${first}/`);
    expect(output).toContain(`ws://127.0.0.1:${second}/`);
    expect(output).toContain(`http://127.0.0.1:${port}/_local/regions`);
    for (const regionPort of [first, second]) {
      expect((await fetch(`http://127.0.0.1:${regionPort}/health`)).status).toBe(200);
    }

    // npm runs the CLI in its own process (exec); its children are the engines.
    const cli = childrenOf(started.pid as number);
    const engines = cli.flatMap(childrenOf);
    expect(engines.length).toBeGreaterThanOrEqual(2);
    const exited = new Promise<number | null>((resolve) => started.once('exit', resolve));
    started.kill('SIGTERM');
    await exited;
    await expect.poll(() => [...cli, ...engines].filter(alive), { timeout: 15_000 }).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${first}/health`)).rejects.toThrow();
  });
});
