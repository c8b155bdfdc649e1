/**
 * The local Lambda service of one region: invokes the region's handlers in worker threads that
 * carry the region's environment, with the function's timeout, and lets tests inject faults.
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
}

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

  constructor(private readonly options: LambdaServiceOptions) {
    this.region = options.region;
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
   * {@link LambdaInvokeError} when the handler throws or runs past its timeout.
   */
  async invoke(handler: string, event: unknown): Promise<unknown> {
    const entry = this.byHandler.get(handler);
    if (!entry) throw new Error(`region ${this.region} has no function for handler ${handler}`);
    const { fn, worker } = entry;
    const started = performance.now();
    const notify = (ok: boolean, error?: string): void => {
      for (const listener of this.listeners) {
        listener({
          region: this.region,
          handler,
          event,
          ok,
          ...(error !== undefined ? { error } : {}),
          durationMs: performance.now() - started,
          memoryMb: fn.memoryMb,
        });
      }
    };
    try {
      if (this.stopped)
        throw new LambdaInvokeError(handler, 'ServiceStopped', 'the local Lambda service is stopped');
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
      notify(false, error instanceof Error ? error.message : String(error));
      throw error;
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
