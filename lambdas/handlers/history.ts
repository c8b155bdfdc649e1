/**
 * `history {room, limit?, before?}`: one page of the room's messages by time (the `byTime`
 * index), the `limit` (default 50) newest before `before`, answered oldest first. A page that
 * would end inside a group of messages sharing one `ts` ends before that group, so paging with
 * `before` = the oldest `ts` received never skips a message. A page that would pass one reply's
 * 128 KiB leaves out its oldest groups until it fits; a newest group that alone cannot fit is
 * `payload_too_large`.
 */
import { HISTORY_LIMIT_DEFAULT, type HistoryFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { PayloadTooLargeError } from '../shared/errors.js';
import { fitHistory } from '../shared/reply-size.js';
import { requireJoined } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import { historyPage, isMember, removeConnection, toMessageFrame } from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Answers a history request. */
export const history = async (
  deps: HandlerDeps<RouteStore<'isMember' | 'historyPage'>>,
  caller: Caller,
  frame: HistoryFrame,
): Promise<void> => {
  const { room } = frame;
  await requireJoined(deps, caller, room);
  const items = await deps.store.historyPage(room, {
    limit: frame.limit ?? HISTORY_LIMIT_DEFAULT,
    before: frame.before,
  });
  const page = fitHistory(replyTo(frame, { type: 'history', room, messages: [] }), items.map(toMessageFrame));
  if (page === undefined) {
    throw new PayloadTooLargeError(
      'the newest messages before this point share one ts and together do not fit in one reply',
    );
  }
  await reply(deps, caller.connectionId, page);
};

/** The `history` route. */
export const handler = defineRoute('history', history, { isMember, historyPage, removeConnection });
