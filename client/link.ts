/**
 * The narrow view of the connection that rooms, sends and requests get: they send frames on it
 * and ask whether it is open, but never see the socket, the endpoints or the heartbeat.
 */
import type { ClientFrame } from '../protocol/index.js';

/** The current connection, as the modules that send frames on it see it. */
export interface Link {
  /**
   * Incremented for every socket, so work can tell whether it was done on the current one (a
   * timer armed on an older connection does nothing on a newer).
   */
  readonly generation: number;
  /** True once the client was closed for good: no work is accepted any more. */
  readonly closed: boolean;
  /** True while the connection is open: a frame transmitted now goes out. */
  isOpen(): boolean;
  /** Sends a frame on the current socket; dropped without one (the next connection resends). */
  transmit(frame: ClientFrame): void;
}

/** A test on a room name: which rooms' frames may go, or are meant. */
export type RoomFilter = (room: string) => boolean;
