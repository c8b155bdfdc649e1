/**
 * A child process that holds idle WebSocket connections for the bench. A process may have at most
 * `ulimit -n` open files (20,000 on the machine the bench was written on), and 10,000 connections
 * with both ends in one process would need more: the local stack keeps the server ends, this
 * process the client ends of the idle ones.
 *
 * Protocol (IPC): the parent sends `{ type: 'open', id, endpoint, users, concurrency, jwtSecret }`;
 * the child answers `{ type: 'opened', id, count }` or `{ type: 'error', id, message }`, and holds every connection
 * until it is killed.
 */

import { signLocalToken } from '../local/token.js';
import { type BenchSocket, openMany } from './clients.js';

/** A request to open connections, one per user. */
export interface OpenRequest {
  type: 'open';
  /** Echoed in the answer. */
  id: number;
  endpoint: string;
  users: string[];
  concurrency: number;
  jwtSecret: string;
}

const held: BenchSocket[] = [];

process.on('message', (message: OpenRequest) => {
  if (message.type !== 'open') return;
  openMany(
    message.users.length,
    async (i) => {
      const user = message.users[i] as string;
      const token = await signLocalToken(user, { secret: message.jwtSecret });
      return { url: `${message.endpoint}?token=${token}`, user };
    },
    message.concurrency,
  ).then(
    (sockets) => {
      held.push(...sockets);
      process.send?.({ type: 'opened', id: message.id, count: sockets.length });
    },
    (error: unknown) => {
      process.send?.({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      });
    },
  );
});
process.on('disconnect', () => process.exit(0));
