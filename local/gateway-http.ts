/** The local gateway's HTTP helpers: a JSON answer, a refused WebSocket handshake, a header's value. */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Answers `body` as JSON with `status` (and any extra headers, e.g. `x-amzn-ErrorType`). */
export const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

/** Refuses a WebSocket handshake with an HTTP status and API Gateway's `{ message }` body, and closes the socket. */
export const refuseUpgrade = (socket: Duplex, status: number, message: string): void => {
  const body = JSON.stringify({ message });
  const reason =
    {
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

/** The first value of a request header (Node gives a list for repeated ones). */
export const firstHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;
