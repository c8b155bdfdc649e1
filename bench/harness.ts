/**
 * What every bench section shares: stopping everything that was started (also on an error and on
 * Ctrl-C), starting a local stack on free ports with the bench's settings, and small waits.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { retry, sleep } from '../lambdas/shared/retry.js';
import { freePort, type LocalStack, startLocalStack } from '../local/stack.js';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where each run writes its JSON and the plot. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

const cleanups = new Set<() => Promise<void>>();

/** Registers `stop` to run when the bench ends, fails or is interrupted; returns the unregister. */
export const onExit = (stop: () => Promise<void>): (() => void) => {
  cleanups.add(stop);
  return () => cleanups.delete(stop);
};

/** Runs every registered stop, last registered first. */
export const stopAll = async (): Promise<void> => {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const stop of pending) await stop().catch(() => undefined);
};

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping what the bench started...\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

/** The designs the bench compares. */
export type Design = 'parley' | 'baseline';

/**
 * Limits the bench raises on both designs alike, so they measure the designs rather than the
 * abuse limits: stage throttling to API Gateway's account maximum, and the per-connection send
 * rate out of the way (a sender publishes a burst).
 */
export const BENCH_CONTEXT = {
  throttleRate: 10_000,
  throttleBurst: 5_000,
  sendRatePerSecond: 10_000,
  sendBurst: 100_000,
  maxRoomsPerConnection: 1_000,
} as const;

const logDir = join(ROOT, '.local', 'logs');

/** Starts a local stack of `design` on free 127.0.0.1 ports, stopped by {@link stopAll} too. */
export const startBenchStack = async (
  design: Design,
  options: { healthIntervalMs?: number; failureThreshold?: number } = {},
): Promise<LocalStack> => {
  mkdirSync(logDir, { recursive: true });
  const logStream = createWriteStream(join(logDir, `bench-${design}.log`), { flags: 'a' });
  const globalPort = await freePort();
  const regionPorts = [await freePort(), await freePort()];
  const start = () =>
    startLocalStack({
      globalPort,
      regionPorts,
      context: { ...BENCH_CONTEXT, sendDesign: design },
      // Handler logs cost CPU on a 2-core machine; only errors are kept.
      handlerLogLevel: 'ERROR',
      meterCapacity: true,
      log: (line) => logStream.write(`${new Date().toISOString()} ${line}\n`),
      ...options,
    });
  // On a busy machine the Java engines can miss their start-up deadline: try again, twice, at once.
  const attempts = 3;
  let failures = 0;
  const stack = await retry(start, {
    attempts,
    retryable: (error) => {
      if (++failures < attempts)
        note(
          `${design}: the local stack did not start (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); again`,
        );
      return true;
    },
    delayMs: () => 0,
  });
  const off = onExit(async () => {
    await stack.stop();
    logStream.end();
  });
  const stop = stack.stop.bind(stack);
  stack.stop = async () => {
    off();
    await stop();
    logStream.end();
  };
  return stack;
};

/** Polls `check` until it is true or `timeoutMs` passes; resolves with whether it became true. */
export const waitFor = async (check: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(intervalMs);
  }
  return check();
};

/** Prints a progress line to stderr (the table goes to stdout). */
export const note = (message: string): void => {
  process.stderr.write(`[bench +${Math.round(process.uptime())} s] ${message}\n`);
};
