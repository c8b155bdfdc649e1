/**
 * What the transport and the probe do to a WebSocket they are done with: stop listening to it, so
 * that a late event from it can never act on the client, and close it.
 */
import type { WebSocketLike } from './types.js';

/** `WebSocket.OPEN`, which not every implementation exposes as a static. */
export const OPEN = 1;

/** Stops listening to a socket. */
export const detach = (socket: WebSocketLike): void => {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
};

/**
 * Stops listening to a socket and closes it.
 *
 * @example
 * ```ts
 * abandon(socket, 1000, 'probe cancelled');
 * ```
 */
export const abandon = (socket: WebSocketLike, code = 4000, reason = 'abandoned'): void => {
  detach(socket);
  try {
    socket.close(code, reason);
  } catch {
    // Closing a socket that never opened may throw in some implementations; it is gone either way.
  }
};
