/**
 * The local Lambda service of one region: invokes the region's handlers in worker threads that
 * carry the region's environment, with the function's timeout and the region's concurrency limit
 * (reserved concurrency included), and lets tests inject faults.
 */
import { Worker } from 'node:worker_threads';
import type { InvokeRequest, InvokeResponse } from './lambda-worker.js';

/** One function as the local Lambda service runs it. */
export interface LocalFunction {
  /** The handler name (`parley:handler`), e.g. `send`. */
  handler: string;
  logicalId: string;
  functionName: string;
  /** The resolved environment from the template (without the stack-wide additions). */
  environment: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  /**
   * The function's reserved concurrency (`ReservedConcurrentExecutions`): at most this many of its
   * invocations in flight, on capacity no other function of the region may use. Unset: the
   * function shares the region's unreserved concurrency.
   */
  reservedConcurrency?: number;
}

/**
 * Lambda's default concurrency quota: 1,000 concurrent executions per Region, shared by the
 * account's functions ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
export const LAMBDA_DEFAULT_CONCURRENCY_LIMIT = 1000;
/** The error type of a throttled invocation, as the Lambda API names it. */
export const THROTTLED_ERROR_TYPE = 'TooManyRequestsException';

/**
 * A fault hook: called before the handler with the event; if it throws, the invocation fails with
 * that error as if the handler had thrown, and the handler does not run.
 */
export type FaultHook = (event: unknown) => void | Promise<void>;

/** A record of one invocation, for tests and logs. */
export interface InvocationRecord {
  region: string;
  handler: string;
  event: unknown;
  ok: boolean;
  error?: string;
  /** Wall time from the invoke to its outcome (ms); invocations of a region share one thread. */
  durationMs?: number;
  /** The function's memory setting (MB), for GB-seconds. */
  memoryMb?: number;
  /** Set when Lambda throttled the invocation: the handler did not run (and it is not billed). */
  throttled?: true;
}

/** The error an invocation fails with (the handler threw, timed out, or a fault was injected). */
export class LambdaInvokeError extends Error {
  constructor(
    public readonly handler: string,
    public readonly errorType: string,
    message: string,
  ) {
    super(`${handler}: ${errorType}: ${message}`);
    this.name = 'LambdaInvokeError';
  }
}

/**
 * An invocation Lambda refused for want of concurrency (`TooManyRequestsException`): it failed
 * at once and the handler did not run. `reason` is one of the Lambda API's throttle reasons.
 */
export class LambdaThrottledError extends LambdaInvokeError {
  constructor(
    handler: string,
    public readonly reason:
      | 'ConcurrentInvocationLimitExceeded'
      | 'ReservedFunctionConcurrentInvocationLimitExceeded',
  ) {
    // The message is believed: the Lambda API documents the exception and its reasons, not its
    // text. "Rate Exceeded." is what clients report; AWS's knowledge center quotes "Rate exceeded"
    // (https://repost.aws/knowledge-center/lambda-troubleshoot-throttling).
    super(handler, THROTTLED_ERROR_TYPE, 'Rate Exceeded.');
    this.name = 'LambdaThrottledError';
  }
}

/**
 * Whether an invocation failed because Lambda throttled it (the handler did not run). By class,
 * not by error type: a handler that throws its own uncaught `TooManyRequestsException` (from a
 * call of its own) fails with that error type, and that is a function error.
 */
export const isThrottled = (error: unknown): error is LambdaThrottledError =>
  error instanceof LambdaThrottledError;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (errorType: string, message: string) => void;
  timer: NodeJS.Timeout;
}

/** Options of {@link LambdaService}. */
export interface LambdaServiceOptions {
  region: string;
  functions: LocalFunction[];
  /** Variables every function of the region gets (region, endpoints, credentials, ...). */
  baseEnvironment: Record<string, string>;
  /** The bundled worker script and handlers. */
  workerFile: string;
  bundles: Record<string, string>;
  /** Where the handlers' logs go. */
  log: (line: string) => void;
  /**
   * Injected crashes: asked once per invocation; `before` fails it without running the handler,
   * `after` runs the handler and then fails the invocation (its work done, its result lost).
   */
  crash?: (handler: string) => 'before' | 'after' | undefined;
  /**
   * The region's concurrency limit: invocations in flight at once across its functions, beyond
   * which an invocation is throttled. Functions with reserved concurrency take theirs out of it.
   * @default LAMBDA_DEFAULT_CONCURRENCY_LIMIT
   */
  concurrencyLimit?: number;
}

/**
 * Runs one region's functions. Functions whose environments agree share a worker (one module
 * instance per handler per region, as one warm Lambda environment per function would have).
 */
export class LambdaService {
  readonly region: string;
  private readonly byHandler = new Map<string, { fn: LocalFunction; worker: Worker }>();
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly faults = new Map<string, FaultHook>();
  private readonly listeners = new Set<(record: InvocationRecord) => void>();
  private nextId = 1;
  private stopped = false;
  /** The region's concurrency limit. */
  readonly concurrencyLimit: number;
  /** What is left of the limit once the reservations are taken out: the functions without one share it. */
  readonly unreservedConcurrency: number;
  private unreservedInFlight = 0;
  private readonly inFlightByHandler = new Map<string, number>();

  constructor(private readonly options: LambdaServiceOptions) {
    this.region = options.region;
    this.concurrencyLimit = options.concurrencyLimit ?? LAMBDA_DEFAULT_CONCURRENCY_LIMIT;
    const reserved = options.functions.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
    // Lambda refuses a reservation the account's limit cannot hold (it also keeps 100 unreserved,
    // which is not checked here, so that tests can run with small limits).
    if (reserved > this.concurrencyLimit) {
      throw new Error(
        `region ${this.region}: the functions reserve ${reserved} concurrent executions, over the limit of ${this.concurrencyLimit}`,
      );
    }
    this.unreservedConcurrency = this.concurrencyLimit - reserved;
    const groups: { env: Record<string, string>; fns: LocalFunction[] }[] = [];
    for (const fn of options.functions) {
      const group = groups.find(({ env }) =>
        Object.entries(fn.environment).every(([key, value]) => env[key] === undefined || env[key] === value),
      );
      if (group) {
        Object.assign(group.env, fn.environment);
        group.fns.push(fn);
      } else {
        groups.push({ env: { ...fn.environment }, fns: [fn] });
      }
    }
    for (const group of groups) {
      const worker = new Worker(options.workerFile, {
        env: { ...options.baseEnvironment, ...group.env },
        workerData: { bundles: options.bundles },
        execArgv: ['--enable-source-maps'],
        stdout: true,
        stderr: true,
      });
      worker.stdout.on('data', (chunk: Buffer) => this.logChunk(chunk));
      worker.stderr.on('data', (chunk: Buffer) => this.logChunk(chunk));
      worker.on('message', (response: InvokeResponse) => this.settle(response));
      worker.on('error', (error) =>
        options.log(`[${this.region}] worker error: ${error.stack ?? error.message}`),
      );
      worker.unref();
      this.workers.push(worker);
      for (const fn of group.fns) this.byHandler.set(fn.handler, { fn, worker });
    }
  }

  private logChunk(chunk: Buffer): void {
    for (const line of chunk.toString().split('\n'))
      if (line.trim()) this.options.log(`[${this.region}] ${line}`);
  }

  private settle(response: InvokeResponse): void {
    const pending = this.pending.get(response.id);
    if (!pending) return; // timed out already
    this.pending.delete(response.id);
    clearTimeout(pending.timer);
    if (response.ok) pending.resolve(response.result);
    else pending.reject(response.errorType, response.errorMessage);
  }

  /** The handler names this region runs. */
  handlers(): string[] {
    return [...this.byHandler.keys()];
  }

  /** The function of a handler name or logical id. */
  functionOf(handlerOrLogicalId: string): LocalFunction | undefined {
    const direct = this.byHandler.get(handlerOrLogicalId)?.fn;
    if (direct) return direct;
    for (const { fn } of this.byHandler.values()) if (fn.logicalId === handlerOrLogicalId) return fn;
    return undefined;
  }

  /** Invocations in flight now, across the region's functions. */
  get inFlight(): number {
    let total = 0;
    for (const count of this.inFlightByHandler.values()) total += count;
    return total;
  }

  /**
   * Takes a unit of concurrency for an invocation of `fn`, or throws {@link LambdaThrottledError}
   * as Lambda throttles: a function with reserved concurrency runs at most that many at once, on
   * its reservation; the others share what the reservations leave of the region's limit
   * ("Configuring reserved concurrency for a function",
   * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). Kept simple:
   * no scaling rate, no provisioned concurrency, no per-mapping maximum concurrency.
   */
  private admit(fn: LocalFunction): void {
    const running = this.inFlightByHandler.get(fn.handler) ?? 0;
    if (fn.reservedConcurrency !== undefined) {
      if (running >= fn.reservedConcurrency)
        throw new LambdaThrottledError(fn.handler, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    } else {
      if (this.unreservedInFlight >= this.unreservedConcurrency)
        throw new LambdaThrottledError(fn.handler, 'ConcurrentInvocationLimitExceeded');
      this.unreservedInFlight++;
    }
    this.inFlightByHandler.set(fn.handler, running + 1);
  }

  private release(fn: LocalFunction): void {
    this.inFlightByHandler.set(fn.handler, (this.inFlightByHandler.get(fn.handler) ?? 1) - 1);
    if (fn.reservedConcurrency === undefined) this.unreservedInFlight--;
  }

  /** Installs (or with `undefined` removes) a fault hook on a handler. */
  setFault(handler: string, hook: FaultHook | undefined): void {
    if (hook) this.faults.set(handler, hook);
    else this.faults.delete(handler);
  }

  /** Subscribes to every invocation's outcome; returns the unsubscribe function. */
  onInvocation(listener: (record: InvocationRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Invokes a handler with an event, like a synchronous Lambda invoke. Rejects with
   * {@link LambdaInvokeError} when the handler throws or runs past its timeout, and at once with
   * {@link LambdaThrottledError} (the handler not run) when the region's or the function's
   * concurrency is used up. An invocation holds its unit of concurrency until its outcome (a timed
   * out one until its timeout, though its code cannot be stopped).
   */
  async invoke(handler: string, event: unknown): Promise<unknown> {
    const entry = this.byHandler.get(handler);
    if (!entry) throw new Error(`region ${this.region} has no function for handler ${handler}`);
    const { fn, worker } = entry;
    const started = performance.now();
    const notify = (ok: boolean, error?: unknown): void => {
      for (const listener of this.listeners) {
        listener({
          region: this.region,
          handler,
          event,
          ok,
          ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
          durationMs: performance.now() - started,
          memoryMb: fn.memoryMb,
          ...(error instanceof LambdaThrottledError ? { throttled: true as const } : {}),
        });
      }
    };
    let admitted = false;
    try {
      if (this.stopped)
        throw new LambdaInvokeError(handler, 'ServiceStopped', 'the local Lambda service is stopped');
      this.admit(fn);
      admitted = true;
      const fault = this.faults.get(handler);
      if (fault) {
        try {
          await fault(event);
        } catch (error) {
          throw new LambdaInvokeError(
            handler,
            'InjectedFault',
            error instanceof Error ? error.message : String(error),
          );
        }
      }
      const crash = this.options.crash?.(handler);
      if (crash === 'before') {
        throw new LambdaInvokeError(handler, 'Runtime.ExitError', 'injected crash before the handler ran');
      }
      const id = this.nextId++;
      const result = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(
            new LambdaInvokeError(
              handler,
              'Sandbox.Timedout',
              `Task timed out after ${fn.timeoutMs / 1000} seconds`,
            ),
          );
        }, fn.timeoutMs);
        this.pending.set(id, {
          resolve,
          reject: (errorType, message) => reject(new LambdaInvokeError(handler, errorType, message)),
          timer,
        });
        const request: InvokeRequest = {
          id,
          handler,
          functionName: fn.functionName,
          region: this.region,
          event,
          timeoutMs: fn.timeoutMs,
          memoryMb: fn.memoryMb,
        };
        worker.postMessage(request);
      });
      if (crash === 'after') {
        throw new LambdaInvokeError(handler, 'Runtime.ExitError', 'injected crash after the handler ran');
      }
      notify(true);
      return result;
    } catch (error) {
      notify(false, error);
      throw error;
    } finally {
      if (admitted) this.release(fn);
    }
  }

  /** Terminates the workers; pending invocations fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject('ServiceStopped', 'the local Lambda service stopped');
      this.pending.delete(id);
    }
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
