/**
 * The local stack's lifecycle: where its log lines and progress messages go, and the stops of
 * everything it started. Every part registers its stop as soon as it exists; the stack stops them
 * last started, first stopped (the gateways close their connections while the handlers still
 * run), also when the start itself fails half-way, and then removes the run's directory.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Where a stack's lines go. */
export interface StackLogging {
  /** A log line (with `npm start`, `.local/logs/local-stack-<globalPort>.log`). */
  log: (line: string) => void;
  /** A progress message while starting: reported (the CLI prints it) and logged with the time since the start. */
  progress: (message: string) => void;
}

/**
 * The stack's logging: `log` if given, else a file under `<root>/.local/logs/`; `report` receives
 * the progress messages.
 */
export const stackLogging = (
  root: string,
  globalPort: number,
  log: ((line: string) => void) | undefined,
  report: ((message: string) => void) | undefined,
): StackLogging => {
  const logDir = join(root, '.local', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `local-stack-${globalPort}.log`);
  const write =
    log ??
    ((line: string) => {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    });
  const started = Date.now();
  return {
    log: write,
    progress: (message) => {
      report?.(message);
      write(`[stack] +${Date.now() - started} ms: ${message}`);
    },
  };
};

/** The stops of a stack's parts, and the stack's own stop. */
export class Lifecycle {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private stopped = false;

  /** `runDir` holds the run's bundles and cloud assembly; it is removed once everything stopped. */
  constructor(
    private readonly log: (line: string) => void,
    private readonly runDir: string,
  ) {}

  /** Registers the stop of a part that started. */
  onStop(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Registers the stop of a part that is still starting, so it is stopped even if another part fails first. */
  stopWhenStarted(starting: Promise<{ stop(): Promise<void> }>): void {
    this.onStop(async () => {
      const running = await starting.catch(() => undefined);
      await running?.stop();
    });
  }

  /** Stops everything registered, last first; a failed stop is logged and the others still run. Idempotent. */
  readonly stop = async (): Promise<void> => {
    if (this.stopped) return;
    this.stopped = true;
    this.log('[stack] stopping');
    // Last started, first stopped: the gateways close connections while the handlers still run.
    for (const cleanup of this.cleanups.reverse()) {
      await cleanup().catch((error: unknown) =>
        this.log(`stop: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    // The bundles and the cloud assembly of this run are not needed any more.
    rmSync(this.runDir, { recursive: true, force: true });
    this.log('[stack] stopped');
  };

  /** Runs `start`; when it fails, stops whatever it had started and throws its error. */
  async start<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }
}
