/**
 * What the page keeps of each joined room: its messages, keyed by `origin:seq` so that history and
 * live traffic never show one twice, capped to the newest, and how far back history was read.
 *
 * @example
 * ```ts
 * const view = newView();
 * addMessages(view, page.messages);
 * sortedMessages(view); // oldest first
 * ```
 */
import type { Cursor, MessageFrame } from '../client/index.js';

/** Messages kept per room in the page. */
export const MAX_MESSAGES = 2_000;

/** What the page keeps per joined room. */
export interface RoomView {
  /** By `origin:seq`, so history and live traffic never show a message twice. */
  messages: Map<string, MessageFrame>;
  /** `before` of the next older history page; undefined once the start was reached. */
  nextBefore: number | undefined;
  historyDone: boolean;
  loadingHistory: boolean;
  unread: number;
}

const keyOf = (message: MessageFrame): string => `${message.origin}:${message.seq}`;

/** A room's view before anything was read. */
export const newView = (): RoomView => ({
  messages: new Map(),
  nextBefore: undefined,
  historyDone: false,
  loadingHistory: false,
  unread: 0,
});

/** A room's messages in the order the page shows them: by time, then origin and seq. */
export const sortedMessages = (view: RoomView): MessageFrame[] =>
  [...view.messages.values()].sort(
    (a, b) => a.ts - b.ts || a.origin.localeCompare(b.origin) || a.seq - b.seq,
  );

/** Adds messages (live or history) to a view, keeping at most {@link MAX_MESSAGES}, the newest. */
export const addMessages = (view: RoomView, messages: MessageFrame[]): void => {
  for (const message of messages) view.messages.set(keyOf(message), message);
  if (view.messages.size <= MAX_MESSAGES) return;
  // Keep the newest: drop the oldest beyond the cap (history can bring them back).
  for (const message of sortedMessages(view).slice(0, view.messages.size - MAX_MESSAGES)) {
    view.messages.delete(keyOf(message));
  }
  view.historyDone = false;
};

/**
 * Whether the view holds the first message (seq 1) of every origin in the room's `cursor`: nothing
 * older exists, so no request for an empty page is needed to know it.
 */
export const startReached = (cursor: Cursor | undefined, view: RoomView): boolean => {
  const origins = Object.keys(cursor ?? {});
  return origins.length > 0 && origins.every((origin) => view.messages.has(`${origin}:1`));
};
