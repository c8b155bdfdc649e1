/**
 * The local API Gateway against scripted handlers: handshake and authorizer outcomes, API
 * Gateway's event shapes, route selection, two-way routes, errors, throttling, limits, the
 * `@connections` API through the real SDK client, and the outage switch.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RegionGateway } from '../../../local/gateway.js';
import {
  LambdaInvokeError,
  type LambdaService,
  LambdaThrottledError,
  type LocalFunction,
} from '../../../local/lambda-service.js';
import { freePort } from '../../../local/stack.js';
import type { ApiModel } from '../../../local/template.js';
import { API_GATEWAY_MAX_FRAME_BYTES } from '../../../protocol/index.js';
import { connect, refusedStatus } from '../../e2e/helpers.js';

type Handler = (event: Record<string, unknown>) => unknown;

const allow = (user: string) => ({
  principalId: user,
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }],
  },
  context: { user },
});
const deny = () => ({
  principalId: 'x',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: '*' }],
  },
});

/** A stand-in for the Lambda service: handlers are plain functions, every call is recorded. */
const fakeLambda = (handlers: Record<string, Handler>) => {
  const calls: { handler: string; event: Record<string, unknown> }[] = [];
  const fns = new Map<string, LocalFunction>(
    Object.keys(handlers).map((name) => [
      name,
      {
        handler: name,
        logicalId: `${name}Fn`,
        functionName: name,
        environment: {},
        timeoutMs: 1000,
        memoryMb: 128,
      },
    ]),
  );
  const lambda = {
    functionOf: (id: string) => fns.get(id) ?? [...fns.values()].find((f) => f.logicalId === id),
    invoke: async (handler: string, event: Record<string, unknown>) => {
      calls.push({ handler, event });
      const fn = handlers[handler];
      if (!fn) throw new Error(`no handler ${handler}`);
      try {
        return await fn(event);
      } catch (error) {
        // The service's own failures (a throttle) as they are; a handler's error as the service wraps it.
        if (error instanceof LambdaInvokeError) throw error;
        throw new Error(`${handler}: Error: ${(error as Error).message}`);
      }
    },
  };
  return { lambda: lambda as unknown as LambdaService, calls };
};

const api = (extra: Partial<ApiModel> = {}): ApiModel => ({
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
    { routeKey: 'echo', functionLogicalId: 'echoFn', twoWay: true, authorizer: undefined },
    { routeKey: 'boom', functionLogicalId: 'boomFn', twoWay: false, authorizer: undefined },
    { routeKey: 'limited', functionLogicalId: 'echoFn', twoWay: true, authorizer: undefined },
    { routeKey: 'slow', functionLogicalId: 'slowFn', twoWay: true, authorizer: undefined },
  ],
  stageLogicalId: 'Stage',
  stageName: 'prod',
  defaultThrottle: { rateLimit: undefined, burstLimit: undefined },
  routeThrottles: { limited: { rateLimit: 0.001, burstLimit: 1 } },
  ...extra,
});

const gateways: RegionGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

const start = async (
  handlers: Partial<Record<string, Handler>> = {},
  options: { idleTimeoutMs?: number; maxDurationMs?: number; integrationTimeoutMs?: number } = {},
) => {
  const { lambda, calls } = fakeLambda({
    authorizer: (event) => {
      const token = (event.queryStringParameters as Record<string, string>).token;
      if (token === 'deny') return deny();
      if (token === 'throw') throw new Error('Unauthorized');
      if (token === 'crash') throw new Error('secret store unreachable');
      return allow(token as string);
    },
    connect: () => ({ statusCode: 200 }),
    disconnect: () => ({ statusCode: 200 }),
    default: () => ({ statusCode: 200 }),
    echo: (event) => ({ statusCode: 200, body: JSON.stringify({ echoed: event.body }) }),
    boom: () => {
      throw new Error('handler bug');
    },
    slow: () => ({ statusCode: 200, body: JSON.stringify({ slow: 'done' }) }),
    ...handlers,
  } as Record<string, Handler>);
  const port = await freePort();
  const gateway = new RegionGateway({
    region: 'us-east-1',
    port,
    apiId: 'local1',
    api: api(),
    lambda,
    log: () => undefined,
    ...options,
  });
  await gateway.listen();
  gateways.push(gateway);
  return { gateway, calls, url: `ws://127.0.0.1:${port}/` };
};

describe('Local API Gateway: handshake', () => {
  it('answers 401 without calling the authorizer when the token is missing', async () => {
    const { url, calls } = await start();
    expect(await refusedStatus(url)).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('maps the authorizer outcome to API Gateway statuses', async () => {
    const { url } = await start();
    expect(await refusedStatus(`${url}?token=deny`)).toBe(403);
    expect(await refusedStatus(`${url}?token=throw`)).toBe(401);
    expect(await refusedStatus(`${url}?token=crash`)).toBe(500);
  });

  it('refuses the handshake with 500 when the authorizer or $connect invocation is throttled', async () => {
    const throttled = (handler: string) => () => {
      throw new LambdaThrottledError(handler, 'ConcurrentInvocationLimitExceeded');
    };
    const { url: authorizerUrl } = await start({ authorizer: throttled('authorizer') });
    expect(await refusedStatus(`${authorizerUrl}?token=alice`)).toBe(500);
    const { url: connectUrl } = await start({ connect: throttled('connect') });
    expect(await refusedStatus(`${connectUrl}?token=alice`)).toBe(500);
  });

  it('refuses the connection when $connect answers non-2xx', async () => {
    const { url } = await start({ connect: () => ({ statusCode: 403 }) });
    expect(await refusedStatus(`${url}?token=alice`)).toBe(403);
  });

  it("gives the authorizer and $connect API Gateway's event shapes", async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    const [auth, conn] = calls;
    expect(auth?.event).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:local1/prod/$connect',
      queryStringParameters: { token: 'alice' },
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', stage: 'prod', apiId: 'local1' },
    });
    expect(conn?.handler).toBe('connect');
    expect(conn?.event).toMatchObject({
      requestContext: {
        routeKey: '$connect',
        eventType: 'CONNECT',
        authorizer: { principalId: 'alice', user: 'alice' },
      },
    });
    await client.close();
  });
});

describe('Local API Gateway: frames', () => {
  it('routes by $request.body.action with the MESSAGE event shape, else to $default', async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    client.send({ action: 'echo' });
    const echoed = await client.next((f) => f.echoed !== undefined);
    expect(JSON.parse(echoed.echoed as string)).toMatchObject({ action: 'echo' });
    const echo = calls.find((c) => c.handler === 'echo')?.event as Record<string, Record<string, unknown>>;
    expect(echo.requestContext).toMatchObject({
      routeKey: 'echo',
      eventType: 'MESSAGE',
      stage: 'prod',
      apiId: 'local1',
      authorizer: { principalId: 'alice', user: 'alice' },
    });
    expect(typeof echo.requestContext?.connectionId).toBe('string');
    expect(typeof echo.requestContext?.requestId).toBe('string');
    expect(typeof echo.requestContext?.connectedAt).toBe('number');
    expect(echo.isBase64Encoded).toBe(false);

    client.ws.send('not json');
    client.send({ action: 'nowhere' });
    await expect.poll(() => calls.filter((c) => c.handler === 'default').length).toBe(2);
    expect(calls.filter((c) => c.handler === 'default').map((c) => c.event.body)).toEqual([
      'not json',
      JSON.stringify({ action: 'nowhere' }),
    ]);
    await client.close();
  });

  it('answers a failed integration with API Gateway\'s "Internal server error" message', async () => {
    const { url } = await start();
    const client = await connect(`${url}?token=alice`);
    client.send({ action: 'boom' });
    const reply = await client.next((f) => f.message !== undefined);
    expect(reply).toMatchObject({ message: 'Internal server error' });
    expect(typeof reply.connectionId).toBe('string');
    await client.close();
  });

  it('answers a route whose Lambda invocation is throttled with "Internal server error", as API Gateway does', async () => {
    const { url } = await start({
      boom: () => {
        throw new LambdaThrottledError('boom', 'ConcurrentInvocationLimitExceeded');
      },
    });
    const client = await connect(`${url}?token=alice`);
    client.send({ action: 'boom' });
    expect(await client.next((f) => f.message !== undefined)).toMatchObject({
      message: 'Internal server error',
    });
    // The connection stays open.
    client.send({ action: 'echo' });
    await client.next((f) => f.echoed !== undefined);
    await client.close();
  });

  it('throttles a route beyond its stage settings with "Too Many Requests"', async () => {
    const { url } = await start();
    const client = await connect(`${url}?token=alice`);
    client.send({ action: 'limited' });
    client.send({ action: 'limited' });
    await client.next((f) => f.message === 'Too Many Requests');
    expect(client.frames.filter((f) => f.echoed !== undefined)).toHaveLength(1);
    await client.close();
  });

  it('delivers a 40 KiB message sent in two 20 KiB frames to its route whole', async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    const message = JSON.stringify({ action: 'echo', pad: 'x'.repeat(40 * 1024) });
    const middle = Math.floor(message.length / 2);
    client.ws.send(message.slice(0, middle), { fin: false });
    client.ws.send(message.slice(middle), { fin: true });
    const echoed = await client.next((f) => f.echoed !== undefined);
    expect(echoed.echoed).toBe(message);
    expect(calls.filter((c) => c.handler === 'echo').map((c) => c.event.body)).toEqual([message]);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await client.close();
  });

  it('takes a frame of exactly 32 KiB', async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    const prefix = JSON.stringify({ action: 'echo', pad: '' }).slice(0, -2);
    const message = `${prefix}${'x'.repeat(API_GATEWAY_MAX_FRAME_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(message)).toBe(API_GATEWAY_MAX_FRAME_BYTES);
    client.ws.send(message);
    await client.next((f) => f.echoed !== undefined);
    expect(calls.filter((c) => c.handler === 'echo').map((c) => c.event.body)).toEqual([message]);
    await client.close();
  });

  it('closes with 1009 for a single 40 KiB frame, routes none of it, and runs $disconnect with the code', async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    client.ws.send(JSON.stringify({ action: 'echo', pad: 'x'.repeat(40 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    await expect.poll(() => calls.find((c) => c.handler === 'disconnect')).toBeDefined();
    expect(calls.find((c) => c.handler === 'disconnect')?.event).toMatchObject({
      requestContext: { routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 1009 },
    });
    // ws reads the whole frame before the client's close frame behind it, so a routed frame
    // would have been invoked before $disconnect ran.
    expect(calls.map((c) => c.handler)).toEqual(['authorizer', 'connect', 'disconnect']);
  });

  it('closes with 1009 for a message over 128 KiB in frames under 32 KiB, and runs $disconnect with the code', async () => {
    const { url, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    const frame = 'x'.repeat(30 * 1024);
    for (let i = 0; i < 5; i++) client.ws.send(frame, { fin: i === 4 });
    expect((await client.closed).code).toBe(1009);
    await expect.poll(() => calls.find((c) => c.handler === 'disconnect')).toBeDefined();
    expect(calls.find((c) => c.handler === 'disconnect')?.event).toMatchObject({
      requestContext: { disconnectStatusCode: 1009 },
    });
    expect(calls.map((c) => c.handler)).toEqual(['authorizer', 'connect', 'disconnect']);
  });
});

describe('Local API Gateway: time limits', () => {
  it('closes an idle connection with 1001', async () => {
    const { url } = await start({}, { idleTimeoutMs: 300 });
    const client = await connect(`${url}?token=alice`);
    expect((await client.closed).code).toBe(1001);
  });

  it('closes a connection at its maximum duration with 1001 even when active', async () => {
    const { url } = await start({}, { maxDurationMs: 600, idleTimeoutMs: 10_000 });
    const client = await connect(`${url}?token=alice`);
    const keepBusy = setInterval(() => client.ws.readyState === 1 && client.send({ action: 'echo' }), 100);
    try {
      expect((await client.closed).code).toBe(1001);
    } finally {
      clearInterval(keepBusy);
    }
  });
});

/** A promise the test resolves itself, so that a handler waits on it without a timer. */
const gate = () => {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

describe('Local API Gateway: integration timeout', () => {
  it('answers a route that outlives the timeout with "Endpoint request timed out" and drops its late response; the invocation runs on', async () => {
    const release = gate();
    let finished = false;
    const { url, calls } = await start(
      {
        slow: async () => {
          await release.opened;
          finished = true;
          return { statusCode: 200, body: JSON.stringify({ slow: 'late' }) };
        },
      },
      { integrationTimeoutMs: 200 },
    );
    const client = await connect(`${url}?token=alice`);
    try {
      client.send({ action: 'slow' });
      const reply = await client.next((f) => f.message !== undefined);
      expect(reply).toMatchObject({ message: 'Endpoint request timed out' });
      expect(typeof reply.connectionId).toBe('string');
      const slowCall = calls.find((c) => c.handler === 'slow')?.event.requestContext as { requestId: string };
      expect(reply.requestId).toBe(slowCall.requestId);
      // The gateway gave up, not the invocation: it finishes once released.
      expect(finished).toBe(false);
      release.open();
      await expect.poll(() => finished).toBe(true);
      // The connection is still open; the echo reply comes after the moment the late response
      // would have been sent, and the late response never is.
      client.send({ action: 'echo' });
      await client.next((f) => f.echoed !== undefined);
      expect(client.frames.filter((f) => f.slow !== undefined)).toEqual([]);
    } finally {
      release.open();
      await client.close();
    }
  });

  it('refuses the handshake with 504 when $connect outlives the timeout', async () => {
    const release = gate();
    const { url, calls } = await start(
      {
        connect: async () => {
          await release.opened;
          return { statusCode: 200 };
        },
      },
      { integrationTimeoutMs: 200 },
    );
    try {
      expect(await refusedStatus(`${url}?token=alice`)).toBe(504);
      expect(calls.map((c) => c.handler)).toEqual(['authorizer', 'connect']);
    } finally {
      release.open();
    }
  });

  it('refuses the handshake with 500 when the authorizer outlives the timeout, without calling $connect', async () => {
    const release = gate();
    const { url, calls } = await start(
      {
        authorizer: async () => {
          await release.opened;
          return allow('alice');
        },
      },
      { integrationTimeoutMs: 200 },
    );
    try {
      expect(await refusedStatus(`${url}?token=alice`)).toBe(500);
      expect(calls.map((c) => c.handler)).toEqual(['authorizer']);
    } finally {
      release.open();
    }
  });
});

describe('Local API Gateway: @connections', () => {
  it('serves PostToConnection, GetConnection and DeleteConnection to the real SDK client, 410 when gone', async () => {
    const { url, gateway, calls } = await start();
    const client = await connect(`${url}?token=alice`);
    const connectEvent = calls.find((c) => c.handler === 'connect')?.event;
    const connectionId =
      (connectEvent?.requestContext as { connectionId: string } | undefined)?.connectionId ?? '';
    expect(connectionId).not.toBe('');
    const management = new ApiGatewayManagementApiClient({
      region: 'us-east-1',
      endpoint: gateway.callbackUrl,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await management.send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: JSON.stringify({ type: 'pong', ts: 1 }),
      }),
    );
    expect(await client.next((f) => f.type === 'pong')).toEqual({ type: 'pong', ts: 1 });
    const info = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await client.closed;
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: 'never-existed=', Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
    management.destroy();
  });
});

describe('Local API Gateway: outage', () => {
  it('drops connections with 1001, refuses new ones and fails /health with 503, until it ends', async () => {
    const { url, gateway } = await start();
    const client = await connect(`${url}?token=alice`);
    const health = `http://127.0.0.1:${gateway.port}/health`;
    expect((await fetch(health)).status).toBe(200);
    await gateway.setOutage(true);
    expect((await client.closed).code).toBe(1001);
    expect(await refusedStatus(`${url}?token=alice`)).toBe(503);
    expect((await fetch(health)).status).toBe(503);
    await gateway.setOutage(false);
    expect((await fetch(health)).status).toBe(200);
    const again = await connect(`${url}?token=alice`);
    await again.close();
  });
});
