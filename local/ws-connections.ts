/**
 * The local gateway's open WebSocket connections: each one's idle timeout and maximum duration,
 * sending to it, closing it (with a close frame) or dropping it (without one, as a network failure
 * does), and the `$disconnect` integration once it is gone.
 */
import { type RawData, WebSocket } from 'ws';
import type { ConnectionIdentity, Integrations } from './gateway-integration.js';
import { CLOSE_GOING_AWAY, CLOSE_MESSAGE_TOO_BIG } from './gateway-quotas.js';
import type { RouteModel } from './template.js';

/** What a connection keeps from its handshake, for its events and its `$disconnect`. */
export interface HandshakeRecord extends ConnectionIdentity {
  headers: Record<string, string>;
  authorizer: Record<string, unknown> | undefined;
  /** The close code the gateway sent, for `$disconnect` (the socket may report 1006 after it). */
  closeCode: number | undefined;
}

/** An open connection. */
export interface Connection extends HandshakeRecord {
  socket: WebSocket;
  lastActiveAt: number;
  idleTimer: NodeJS.Timeout | undefined;
  maxTimer: NodeJS.Timeout;
  closing: boolean;
}

/** Options of {@link ConnectionTable}. */
export interface ConnectionTableOptions {
  region: string;
  idleTimeoutMs: number;
  maxDurationMs: number;
  integrations: Integrations;
  /** The `$disconnect` route, if the API has one. */
  disconnectRoute: RouteModel | undefined;
  log: (line: string) => void;
}

/** The open connections of one gateway, by connection id. */
export class ConnectionTable {
  private readonly open = new Map<string, Connection>();

  constructor(private readonly options: ConnectionTableOptions) {}

  /** Number of open connections. */
  get size(): number {
    return this.open.size;
  }

  /** The open connection `id`, if any. */
  get(id: string): Connection | undefined {
    return this.open.get(id);
  }

  /** The open connections, closing ones included. */
  list(): Connection[] {
    return [...this.open.values()];
  }

  /**
   * Takes over a socket whose handshake was accepted: starts its timers and hands every frame it
   * receives, while it is not closing, to `onFrame`.
   */
  accept(
    socket: WebSocket,
    record: Omit<HandshakeRecord, 'closeCode'>,
    onFrame: (conn: Connection, data: Buffer, isBinary: boolean) => void,
  ): Connection {
    const conn: Connection = {
      ...record,
      socket,
      lastActiveAt: Date.now(),
      idleTimer: undefined,
      maxTimer: setTimeout(
        () => void this.close(conn, CLOSE_GOING_AWAY, 'Going away'),
        this.options.maxDurationMs,
      ),
      closing: false,
      closeCode: undefined,
    };
    this.open.set(conn.id, conn);
    this.touch(conn);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Closing (an oversized frame among them, which ws still reads in full): not routed.
      if (conn.closing) return;
      this.touch(conn);
      onFrame(conn, Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary);
    });
    socket.on('close', (code: number, reason: Buffer) => void this.closed(conn, code, reason.toString()));
    // ws closes with 1009 itself when a message exceeds maxPayload; remember it for $disconnect.
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.closeCode ??= CLOSE_MESSAGE_TOO_BIG;
    });
    return conn;
  }

  /** Restarts a connection's idle timeout (a frame in or out). */
  touch(conn: Connection): void {
    conn.lastActiveAt = Date.now();
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(
      () => void this.close(conn, CLOSE_GOING_AWAY, 'Going away'),
      this.options.idleTimeoutMs,
    );
  }

  /** Sends a text frame; false when the connection is closing or not open. */
  send(conn: Connection, text: string): boolean {
    if (conn.closing || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(text);
    this.touch(conn);
    return true;
  }

  /** Closes with a close frame and resolves once the socket is closed (terminated after 2 s). */
  async close(conn: Connection, code: number, reason: string): Promise<void> {
    if (conn.closing) return;
    conn.closing = true;
    conn.closeCode ??= code;
    const closed = new Promise<void>((resolve) => conn.socket.once('close', () => resolve()));
    conn.socket.close(code, reason);
    const timer = setTimeout(() => conn.socket.terminate(), 2_000);
    await closed;
    clearTimeout(timer);
  }

  /** Closes every open connection with `code`. */
  async closeAll(code: number, reason: string): Promise<void> {
    await Promise.all(this.list().map((c) => this.close(c, code, reason)));
  }

  /** Ends the socket without a close frame, as a network failure does (the client sees 1006). */
  drop(conn: Connection): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.closeCode ??= 1006;
    conn.socket.terminate();
  }

  private async closed(conn: Connection, code: number, reason: string): Promise<void> {
    conn.closing = true;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    this.open.delete(conn.id);
    await this.disconnect(conn, code, reason);
  }

  /** Runs `$disconnect` for a connection that is gone (or never opened); never throws. */
  async disconnect(conn: HandshakeRecord, code: number, reason: string): Promise<void> {
    const route = this.options.disconnectRoute;
    if (!route) return;
    const { integrations } = this.options;
    try {
      // Not bounded by the integration timeout: nobody waits for $disconnect's answer.
      await integrations.lambda.invoke(integrations.handlerOf(route), {
        headers: conn.headers,
        multiValueHeaders: Object.fromEntries(Object.entries(conn.headers).map(([k, v]) => [k, [v]])),
        requestContext: {
          ...integrations.requestContext(conn, '$disconnect', 'DISCONNECT'),
          disconnectStatusCode: conn.closeCode ?? code,
          disconnectReason: reason,
          ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
        },
        isBase64Encoded: false,
      });
    } catch (error) {
      this.options.log(
        `[${this.options.region}] $disconnect failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
