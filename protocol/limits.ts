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

/** Byte length of a string as UTF-8, without Node's Buffer (browser-safe). */
export const utf8Length = (text: string): number => new TextEncoder().encode(text).length;
