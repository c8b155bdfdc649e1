/**
 * One Lambda execution environment per region (and environment): a worker thread with the
 * region's own `process.env`, so each handler module (and the SDK clients it creates once, at
 * import) is configured for its region alone. The stack bundles this file with esbuild and starts
 * it with `new Worker(..., { env })`; it imports the handlers' bundles on first use.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/** A request from the local Lambda service. */
export interface InvokeRequest {
  id: number;
  handler: string;
  functionName: string;
  region: string;
  event: unknown;
  timeoutMs: number;
  memoryMb: number;
}
/** The answer: the handler's result, or the error it threw. */
export type InvokeResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; errorType: string; errorMessage: string; stack?: string };

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const bundles = (workerData as { bundles: Record<string, string> }).bundles;
const loaded = new Map<string, Promise<Handler>>();

const load = (name: string): Promise<Handler> => {
  let handler = loaded.get(name);
  if (!handler) {
    const file = bundles[name];
    if (!file) return Promise.reject(new Error(`no bundle for handler ${name}`));
    handler = import(pathToFileURL(file).href).then((module: { handler?: Handler }) => {
      if (typeof module.handler !== 'function') throw new Error(`${name} does not export a handler function`);
      return module.handler;
    });
    loaded.set(name, handler);
  }
  return handler;
};

parentPort?.on('message', async (request: InvokeRequest) => {
  const started = Date.now();
  const requestId = randomUUID();
  const context = {
    functionName: request.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${request.region}:000000000000:function:${request.functionName}`,
    memoryLimitInMB: String(request.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${request.functionName}`,
    logStreamName: `local/${requestId}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, request.timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let response: InvokeResponse;
  try {
    const handler = await load(request.handler);
    // A JSON round trip, as Lambda's own serialization does, so nothing unclonable goes back.
    const result = await handler(request.event, context);
    response = {
      id: request.id,
      ok: true,
      result: result === undefined ? null : JSON.parse(JSON.stringify(result)),
    };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    response = {
      id: request.id,
      ok: false,
      errorType: e.name,
      errorMessage: e.message,
      ...(e.stack ? { stack: e.stack } : {}),
    };
  }
  parentPort?.postMessage(response);
});
