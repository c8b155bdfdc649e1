/** The protocol's size and range limits, and API Gateway's own, which they are set against. */

/** Default maximum serialized size of a message body (a deploy-time setting, `maxBodyBytes`). */
export const DEFAULT_MAX_BODY_BYTES = 16_384;
/** API Gateway's WebSocket frame limit (32 KiB). */
export const API_GATEWAY_MAX_FRAME_BYTES = 32_768;
/** Longest `ref` a client may attach to a frame. */
export const MAX_REF_LENGTH = 64;
/** The largest history page a client may ask for. */
export const HISTORY_LIMIT_MAX = 100;
/** The history page size when a client asks for none. */
export const HISTORY_LIMIT_DEFAULT = 50;

/** The deepest message body accepted: `[]` and `{}` have depth 1, each array or object inside adds one. */
export const MAX_BODY_DEPTH = 32;
/** The most origins a `join`'s `since` may hold. */
export const MAX_CURSOR_KEYS = 16;
/** The most members `joined` and `presence` list (both also give `memberCount`). */
export const MAX_MEMBERS_LISTED = 100;
/** The largest reply API Gateway's `PostToConnection` takes (128 KiB): every reply fits in it. */
export const MAX_REPLY_BYTES = 128 * 1024;
/** The longest `presence` paging token (it encodes a user of up to 128 characters and a region). */
export const MAX_PAGE_TOKEN_LENGTH = 1024;

/**
 * Whether a JSON value is nested deeper than `max` (`[]` and `{}` have depth 1), found without
 * recursion, so a hostile value nested thousands deep cannot overflow the stack, and stopping as
 * soon as the answer is known.
 */
export const deeperThan = (value: unknown, max: number): boolean => {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
};

/** Byte length of a string as UTF-8, without Node's Buffer (browser-safe). */
export const utf8Length = (text: string): number => new TextEncoder().encode(text).length;
