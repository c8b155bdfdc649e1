/**
 * A tiny `@connections` endpoint on 127.0.0.1 for integration tests: it records every
 * `POST /@connections/{id}` and answers 200, or 410/429 for connections told to behave so, the
 * way API Gateway's management API does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A recorded post. */
export interface RecordedPost {
  connectionId: string;
  frame: Record<string, unknown>;
}

/** A running fake endpoint. */
export interface ConnectionsServer {
  endpoint: string;
  posts: RecordedPost[];
  /** Connections that answer 410 Gone. */
  gone: Set<string>;
  /** Connections that answer 429 this many more times. */
  throttle: Map<string, number>;
  /** Frames posted to one connection, in order. */
  framesFor: (connectionId: string) => Record<string, unknown>[];
  close: () => Promise<void>;
}

/** Starts the endpoint on a free port. */
export const startConnectionsServer = async (): Promise<ConnectionsServer> => {
  const posts: RecordedPost[] = [];
  const gone = new Set<string>();
  const throttle = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const match = /^\/@connections\/([^/?]+)/.exec(request.url ?? '');
      if (request.method !== 'POST' || match?.[1] === undefined) {
        response.writeHead(404).end();
        return;
      }
      const connectionId = decodeURIComponent(match[1]);
      if (gone.has(connectionId)) {
        response
          .writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' })
          .end('{"message":"Gone"}');
        return;
      }
      const remaining = throttle.get(connectionId) ?? 0;
      if (remaining > 0) {
        throttle.set(connectionId, remaining - 1);
        response
          .writeHead(429, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'LimitExceededException',
          })
          .end('{"message":"Too Many Requests"}');
        return;
      }
      posts.push({ connectionId, frame: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    posts,
    gone,
    throttle,
    framesFor: (connectionId) =>
      posts.filter((post) => post.connectionId === connectionId).map((post) => post.frame),
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
};
