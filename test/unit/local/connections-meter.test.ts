/**
 * The `@connections` call meter: every management API call the real SDK client makes of a region's
 * `@connections` endpoint is counted by region and operation, whatever its answer.
 */
import { createServer, type Server } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { handleConnections, type ManagementGateway } from '../../../local/connections-api.js';
import { ConnectionsMeter, connectionsOperation } from '../../../local/connections-meter.js';
import type { Connection, ConnectionTable } from '../../../local/ws-connections.js';

const servers: Server[] = [];
const clients: ApiGatewayManagementApiClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

/** One connection, `open=`, that takes every post and closes when asked. */
const oneConnection = (): ConnectionTable => {
  const conn = {
    id: 'open=',
    connectedAt: 0,
    lastActiveAt: 0,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    closing: false,
  } as unknown as Connection;
  return {
    get: (id: string) => (id === conn.id ? conn : undefined),
    send: () => true,
    close: async () => undefined,
    drop: () => undefined,
  } as unknown as ConnectionTable;
};

/** A region's `@connections` endpoint over `meter`, and an SDK client of it. */
const start = async (region: string, meter: ConnectionsMeter) => {
  const gateway: ManagementGateway = {
    region,
    inOutage: () => false,
    connections: oneConnection(),
    meter,
  };
  const server = createServer((req, res) => {
    const id = /@connections\/([^/]+)$/.exec(req.url ?? '')?.[1] ?? '';
    void handleConnections(gateway, req, res, decodeURIComponent(id));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const client = new ApiGatewayManagementApiClient({
    region,
    endpoint: `http://127.0.0.1:${port}/prod`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

describe('Local @connections: call meter', () => {
  it('counts every call by region and operation, a 410 included, and starts again from zero on reset', async () => {
    // Prepare
    const meter = new ConnectionsMeter();
    const east = await start('us-east-1', meter);
    const west = await start('eu-west-1', meter);

    // Act
    await east.send(new PostToConnectionCommand({ ConnectionId: 'open=', Data: '{"type":"pong","ts":1}' }));
    await expect(
      east.send(new PostToConnectionCommand({ ConnectionId: 'gone=', Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
    await east.send(new GetConnectionCommand({ ConnectionId: 'open=' }));
    await west.send(new DeleteConnectionCommand({ ConnectionId: 'open=' }));

    // Assess
    expect(meter.snapshot()).toEqual({
      'us-east-1': { calls: 3, byOperation: { PostToConnection: 2, GetConnection: 1 } },
      'eu-west-1': { calls: 1, byOperation: { DeleteConnection: 1 } },
    });
    meter.reset();
    expect(meter.snapshot()).toEqual({});
  });

  it('names the operations by method and counts no other method', () => {
    expect(['POST', 'GET', 'DELETE', 'PUT', 'toString', undefined].map(connectionsOperation)).toEqual([
      'PostToConnection',
      'GetConnection',
      'DeleteConnection',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('gives copies: a snapshot does not change with later calls', () => {
    const meter = new ConnectionsMeter();
    meter.record('us-east-1', 'GetConnection');
    const before = meter.snapshot();
    meter.record('us-east-1', 'GetConnection');
    expect(before).toEqual({ 'us-east-1': { calls: 1, byOperation: { GetConnection: 1 } } });
    expect(meter.snapshot()['us-east-1']?.calls).toBe(2);
  });
});
