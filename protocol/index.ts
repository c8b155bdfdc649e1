/**
 * Parley wire protocol v1: the one source of the protocol's frames, error codes, name rules and
 * limits, shared by the Lambda handlers, the local stack, the client SDK and the web page. The
 * contract is `docs/protocol.md`; these schemas accept everything it allows and refuse everything
 * it forbids, and `test/unit/protocol/contract.test.ts` checks its tables against them.
 *
 * No module here imports anything Node-only, so the browser SDK can use it.
 */
export * from './client-frames.js';
export * from './errors.js';
export * from './limits.js';
export * from './names.js';
export {
  type Cursor,
  cursorSchema,
  type JsonValue,
  jsonValueSchema,
  messageIdSchema,
  originSchema,
  refSchema,
  roomSchema,
} from './schema.js';
export * from './server-frames.js';
