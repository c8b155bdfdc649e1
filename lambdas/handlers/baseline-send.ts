/**
 * `send`, the way the official AWS WebSocket chat samples do it, for the benchmarks only
 * (`-c sendDesign=baseline`; the README calls it the "scan-and-broadcast baseline"). On every
 * message it Scans the whole table for the room's connections in this region (a full-table
 * `Scan` with a filter, every page, no index) and posts to each of them at once with an
 * unbounded `Promise.all`. No sequence, no idempotency, no membership check, no rate limit, no
 * retry of throttled posts, no delivery queue.
 *
 * It stores the message with one `PutItem` so that the other regions, which cannot post to this
 * region's connections, deliver it from their replica's stream as they do Parley's messages; the
 * `seq` it stores and acks is a clock reading, not a gap-free sequence. It answers the sender
 * with the protocol's `ack` shape so a client can time it, and like every handler it never
 * throws raw into API Gateway (the route middlewares answer failures with `error` frames).
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { SendFrame } from '../../protocol/index.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { count, MetricName } from '../shared/metrics.js';
import { replyAck, requireRoomAccess, resolveUser } from '../shared/rooms.js';
import { defineRouteWithoutRateLimit } from '../shared/route.js';
import {
  type BaselineStore,
  getConnection,
  type MessageItem,
  putMessage,
  removeConnection,
  scanRoomConnections,
  storedMessage,
  toMessageFrame,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** What one baseline send did (for tests and the benchmarks). */
export interface BaselineOutcome {
  message: MessageItem;
  /** Items the Scan read, across every page. */
  scanned: number;
  /** Connections posted to, and how many of those posts failed. */
  posted: number;
  failed: number;
}

let lastSeq = 0;
/**
 * A positive, increasing number for the message key: the clock in microseconds' worth of room,
 * kept within the 12 digits of the key. Not gap-free, not coordinated between containers.
 */
const clockSeq = (now: number): number => {
  const candidate = (now % 1_000_000_000) * 1_000;
  lastSeq = candidate > lastSeq ? candidate : lastSeq + 1;
  return lastSeq;
};

/** Stores, acks and broadcasts one message, scan-and-broadcast style. */
export const baselineSend = async (
  deps: HandlerDeps<RouteStore<'getConnection'> & BaselineStore>,
  caller: Caller,
  frame: SendFrame,
): Promise<BaselineOutcome> => {
  const { room, id } = frame;
  // The token's room claim costs no call; the samples have none, but it is not a design choice.
  requireRoomAccess(caller, room);
  const from = await resolveUser(deps, caller);
  const ts = deps.now();
  const seq = clockSeq(ts);
  const message = storedMessage(
    { room, id, from, body: frame.body, region: deps.region },
    deps.region,
    seq,
    ts,
  );
  await deps.store.putMessage(message, deps.config.retentionDays);
  await replyAck(deps, caller, frame, { origin: deps.region, seq, ts });
  count(MetricName.MessagesAccepted);
  const { connectionIds, scanned } = await deps.store.scanRoomConnections(room, deps.region);
  const data = JSON.stringify(toMessageFrame(message));
  const results = await Promise.all(
    connectionIds.map((connectionId) =>
      deps.connections.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })).then(
        () => true,
        () => false,
      ),
    ),
  );
  const failed = results.filter((ok) => !ok).length;
  count(MetricName.MessagesDelivered, results.length - failed);
  if (failed > 0) count(MetricName.DeliveryFailures, failed);
  return { message, scanned, posted: results.length, failed };
};

/** The `send` route of the baseline design, which has no rate limit (see the top of this file). */
export const handler = defineRouteWithoutRateLimit('send', baselineSend, {
  getConnection,
  scanRoomConnections,
  putMessage,
  removeConnection,
});
