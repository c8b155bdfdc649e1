/**
 * Every reply fits in one API Gateway message (`PostToConnection` takes at most 128 KiB), or the
 * caller is told it does not (docs/protocol.md v1.1, "Limits"): a reply is never dropped silently.
 */
import {
  errorFrame,
  type HistoryReplyFrame,
  MAX_REPLY_BYTES,
  type MessageFrame,
  type ServerFrame,
  utf8Length,
} from '../../protocol/index.js';

/** The size of a frame as it goes over the wire (UTF-8 JSON). */
export const frameBytes = (frame: ServerFrame): number => utf8Length(JSON.stringify(frame));

/** The `error payload_too_large` that stands in for a reply too large to send. */
export const tooLargeReply = (frame: ServerFrame, bytes: number): ServerFrame =>
  errorFrame({
    code: 'payload_too_large',
    message: `the ${frame.type} reply would be ${bytes} bytes; one reply holds at most ${MAX_REPLY_BYTES}`,
    ...('ref' in frame && typeof frame.ref === 'string' ? { ref: frame.ref } : {}),
  });

/**
 * The history page that fits one reply: the newest of `messages` (oldest first), leaving out the
 * oldest whole groups of messages that share a `ts`, so that paging on with `before` = the page's
 * oldest `ts` skips nothing. `undefined` when the newest group alone does not fit.
 */
export const fitHistory = (
  page: HistoryReplyFrame,
  messages: readonly MessageFrame[],
): HistoryReplyFrame | undefined => {
  // Each message costs its JSON and a comma; the frame around them (`page`, empty) costs the rest.
  let total = frameBytes({ ...page, messages: [] });
  const sizes = messages.map((message) => utf8Length(JSON.stringify(message)) + 1);
  for (const size of sizes) total += size;
  let first = 0;
  while (total > MAX_REPLY_BYTES && first < messages.length) {
    // Drop the oldest ts group whole.
    const ts = (messages[first] as MessageFrame).ts;
    while (first < messages.length && (messages[first] as MessageFrame).ts === ts) {
      total -= sizes[first] as number;
      first += 1;
    }
  }
  if (first === messages.length && messages.length > 0) return undefined;
  return { ...page, messages: messages.slice(first) };
};
