/**
 * The API Gateway WebSocket event shapes Parley's route handlers receive, reduced to what they
 * read, so the local stack can produce them without the full AWS type.
 */

/** The authorizer context of a connection (set by the `$connect` authorizer). */
export interface AuthorizerContext {
  /** The verified `sub` of the token. */
  user?: string;
  principalId?: string;
  [key: string]: unknown;
}

/** An API Gateway WebSocket event (`$connect`, `$disconnect`, `$default` or a custom route). */
export interface WebSocketEvent {
  requestContext: {
    connectionId: string;
    routeKey?: string;
    eventType?: 'CONNECT' | 'MESSAGE' | 'DISCONNECT' | string;
    requestId?: string;
    domainName?: string;
    stage?: string;
    connectedAt?: number;
    authorizer?: AuthorizerContext | null;
    disconnectStatusCode?: number;
    disconnectReason?: string;
  };
  body?: string | null;
  isBase64Encoded?: boolean;
  queryStringParameters?: Record<string, string | undefined> | null;
  headers?: Record<string, string | undefined>;
}

/** What a WebSocket route integration returns to API Gateway. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

/** The one answer of every route: replies travel through `@connections`, not the return value. */
export const OK: RouteResult = { statusCode: 200 };

/** The calling connection. */
export interface Caller {
  connectionId: string;
  /** The user from the authorizer context, when API Gateway passed it. */
  user: string | undefined;
  /**
   * Room patterns the token allows (its `rooms` claim), `undefined` when it has none (every room
   * allowed). An unreadable value allows nothing rather than everything.
   */
  rooms?: string[] | undefined;
}

/** Reads the `rooms` patterns the authorizer serialized into its context (a JSON array text). */
const roomsOf = (value: unknown): string[] | undefined => {
  if (value === undefined || value === null) return undefined;
  try {
    const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : [];
  } catch {
    return [];
  }
};

/** Reads the caller from an event. */
export const callerOf = (event: WebSocketEvent): Caller => {
  const authorizer = event.requestContext.authorizer ?? undefined;
  const user = authorizer?.user ?? authorizer?.principalId;
  const rooms = roomsOf(authorizer?.rooms);
  return {
    connectionId: event.requestContext.connectionId,
    user: typeof user === 'string' && user.length > 0 ? user : undefined,
    ...(rooms === undefined ? {} : { rooms }),
  };
};

/** The raw text of a frame (API Gateway may base64-encode binary frames). */
export const frameText = (event: WebSocketEvent): string | null | undefined =>
  event.isBase64Encoded === true && typeof event.body === 'string'
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
