/**
 * A small local stack for the unit tests of its guards: one region's real gateway (over scripted
 * handlers, so no Java and no bundles) behind a real global endpoint, with the stack's real
 * controls (`stackControls`, a real `FaultController`), each on a free 127.0.0.1 port; and raw HTTP
 * helpers that can send any `Host`, `Origin` and `Content-Type` (fetch would fix some of them).
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { FaultController } from '../../../local/fault-controller.js';
import { freePort } from '../../../local/free-port.js';
import { RegionGateway } from '../../../local/gateway.js';
import { GlobalEndpoint } from '../../../local/global-endpoint.js';
import type { LambdaService, LocalFunction } from '../../../local/lambda-service.js';
import { pageOrigins } from '../../../local/request-guards.js';
import { stackControls } from '../../../local/stack-controls.js';
import type { ApiModel } from '../../../local/template.js';

/** The region of the fixture. */
export const REGION = 'us-east-1';

const api: ApiModel = {
  logicalId: 'Api',
  routeSelectionExpression: '$request.body.action',
  routes: [
    {
      routeKey: '$connect',
      functionLogicalId: 'connectFn',
      twoWay: false,
      authorizer: { functionLogicalId: 'authorizerFn', identitySource: ['route.request.querystring.token'] },
    },
    { routeKey: '$disconnect', functionLogicalId: 'disconnectFn', twoWay: false, authorizer: undefined },
    { routeKey: '$default', functionLogicalId: 'defaultFn', twoWay: false, authorizer: undefined },
  ],
  stageLogicalId: 'Stage',
  stageName: 'prod',
  defaultThrottle: { rateLimit: undefined, burstLimit: undefined },
  routeThrottles: {},
};

const handlers: Record<string, (event: Record<string, unknown>) => unknown> = {
  authorizer: (event) => ({
    principalId: (event.queryStringParameters as Record<string, string> | undefined)?.token ?? 'nobody',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }],
    },
  }),
  connect: () => ({ statusCode: 200 }),
  disconnect: () => ({ statusCode: 200 }),
  default: () => ({ statusCode: 200 }),
  redrive: (event) => ({ redriven: event }),
};

/** A running fixture. */
export interface LocalFixture {
  globalPort: number;
  regionPort: number;
  /** Every handler invocation, in order (`authorizer`, `connect`, ...). */
  calls: string[];
  /** Outages the controls were asked to start or end. */
  outages: Set<string>;
  faults: FaultController;
  stop(): Promise<void>;
}

/** Starts the fixture; `allowOrigins` are the extra origins (besides the page's) it allows. */
export const startFixture = async (allowOrigins: string[] = []): Promise<LocalFixture> => {
  const calls: string[] = [];
  const fns = new Map<string, LocalFunction>(
    Object.keys(handlers).map((name) => [
      name,
      {
        handler: name,
        logicalId: `${name}Fn`,
        functionName: name,
        environment: {},
        timeoutMs: 1_000,
        memoryMb: 128,
      },
    ]),
  );
  const lambda = {
    functionOf: (id: string) => fns.get(id) ?? [...fns.values()].find((f) => f.logicalId === id),
    invoke: async (handler: string, event: Record<string, unknown>) => {
      calls.push(handler);
      return (handlers[handler] as (event: Record<string, unknown>) => unknown)(event);
    },
  } as unknown as LambdaService;
  const [globalPort, regionPort] = [await freePort(), await freePort()];
  const log = (): void => undefined;
  const gateway = new RegionGateway({
    region: REGION,
    port: regionPort,
    apiId: 'local1',
    api,
    lambda,
    allowedOrigins: [...pageOrigins(globalPort), ...allowOrigins],
    log,
  });
  await gateway.listen();
  const outages = new Set<string>();
  const faults = new FaultController();
  const controls = stackControls({
    regions: [REGION],
    outages,
    lambdas: { [REGION]: lambda },
    gateways: { [REGION]: gateway },
    faults,
    jwtSecret: 'fixture-secret',
    log,
  });
  const global = new GlobalEndpoint({
    port: globalPort,
    regions: [{ name: REGION, port: regionPort }],
    routing: 'failover',
    healthIntervalMs: 60_000,
    allowOrigins,
    control: {
      setOutage: controls.setOutage,
      inOutage: (region) => outages.has(region),
      replicationLagMs: () => 0,
      issueToken: (user) => controls.token(user),
      redrive: (region, input) => controls.lambdaOf(region).invoke('redrive', input),
      faults: {
        inject: controls.injectFaults,
        clear: controls.clearFaults,
        current: () => ({ faults: faults.current(), counts: { ...faults.counts } }),
      },
    },
    root: join(import.meta.dirname, '..', '..', '..'),
    log,
  });
  await global.listen();
  return {
    globalPort,
    regionPort,
    calls,
    outages,
    faults,
    stop: async () => {
      await global.close();
      await gateway.close();
    },
  };
};

/** An HTTP answer: status and body parsed as JSON (or the text, if it is not JSON). */
export interface Answer {
  status: number;
  body: unknown;
}

const answerOf = (status: number, text: string): Answer => {
  try {
    return { status, body: JSON.parse(text) };
  } catch {
    return { status, body: text };
  }
};

/** One HTTP request to 127.0.0.1:`port` with exactly the headers given (Host included). */
export const send = (
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, setHost: !('host' in headers) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(answerOf(res.statusCode ?? 0, text)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

/**
 * A WebSocket handshake to 127.0.0.1:`port` with `headers` (e.g. `Origin`): resolves with 101 when
 * the server upgrades (the socket is closed at once), or with the status and body of its refusal.
 */
export const handshake = (
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(answerOf(res.statusCode ?? 0, text)));
    });
    req.on('error', reject);
    req.end();
  });
