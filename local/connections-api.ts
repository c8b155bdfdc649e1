/**
 * The `@connections` management API of the local gateway, what the handlers' real
 * `ApiGatewayManagementApiClient` calls: `POST` (send), `GET` (connection info) and `DELETE`
 * (close) on `/[<stage>/]@connections/{id}`, with API Gateway's 410 `GoneException` for a
 * connection that is gone, its payload limit, and the injected 429 and 410 faults. Every call is
 * counted by the stack's meter (`connections-meter.ts`) when one is given.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConnectionsMeter, connectionsOperation } from './connections-meter.js';
import type { FaultController } from './fault-controller.js';
import { json } from './gateway-http.js';
import { POST_TO_CONNECTION_MAX_BYTES } from './gateway-quotas.js';
import type { ConnectionTable } from './ws-connections.js';

/** The body, or undefined when it is over `limit` bytes (read to its end either way). */
const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** What the management API needs of the gateway. */
export interface ManagementGateway {
  region: string;
  inOutage(): boolean;
  connections: ConnectionTable;
  /** Injected `@connections` faults (429 throttling, 410 after a drop). */
  faults?: Pick<FaultController, 'connections'> | undefined;
  /** Counts every call, by region and operation. */
  meter?: Pick<ConnectionsMeter, 'record'> | undefined;
}

/** Answers one `@connections/{connectionId}` request. */
export const handleConnections = async (
  gateway: ManagementGateway,
  req: IncomingMessage,
  res: ServerResponse,
  connectionId: string,
): Promise<void> => {
  const { connections } = gateway;
  const operation = connectionsOperation(req.method);
  if (operation !== undefined) gateway.meter?.record(gateway.region, operation);
  const gone = (): void =>
    json(
      res,
      410,
      { message: `Connection ${connectionId} is gone` },
      { 'x-amzn-ErrorType': 'GoneException' },
    );
  const conn = connections.get(connectionId);
  switch (req.method) {
    case 'POST': {
      const body = await readBody(req, POST_TO_CONNECTION_MAX_BYTES);
      if (body === undefined) {
        return json(
          res,
          413,
          { message: 'Message too long' },
          { 'x-amzn-ErrorType': 'PayloadTooLargeException' },
        );
      }
      const fault = conn && !gateway.inOutage() ? gateway.faults?.connections(gateway.region) : undefined;
      if (fault === 'throttle') {
        return json(
          res,
          429,
          { message: 'Too Many Requests' },
          { 'x-amzn-ErrorType': 'LimitExceededException' },
        );
      }
      // An injected 410 is made true first: the connection drops, then the post finds it gone.
      if (fault === 'gone' && conn) connections.drop(conn);
      if (!conn || gateway.inOutage() || fault === 'gone' || !connections.send(conn, body.toString('utf8')))
        return gone();
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    case 'GET': {
      if (!conn || conn.closing) return gone();
      return json(res, 200, {
        connectedAt: new Date(conn.connectedAt).toISOString(),
        identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
        lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
      });
    }
    case 'DELETE': {
      if (!conn || conn.closing) return gone();
      res.writeHead(204);
      res.end();
      await connections.close(conn, 1000, '');
      return;
    }
    default:
      json(res, 405, { message: 'Method Not Allowed' });
  }
};
