/**
 * The store: all access to Parley's table. The {@link Store} interface is what handlers call; the
 * DynamoDB implementation is the entity modules' functions, which take the table first
 * ({@link Db}) and are bound per handler with {@link onDb}; `createMemoryStore` is the in-memory
 * one tests use. Items, keys and access patterns are those of `docs/data-model.md`; every read is
 * by key or `Query` (never `Scan`, but for the benchmarks' baseline).
 *
 * @example
 * ```ts
 * import { listMembers, onDb, removeConnection } from '../shared/store/index.js';
 *
 * const store = onDb({ client: dynamo(), table: 'parley' }, { listMembers, removeConnection });
 * const members = await store.listMembers('lobby', 'us-east-1');
 * ```
 */
export { admitUserConnection, type UserConnectionEntries } from './admission.js';
export { type BaselineStore, putMessage, scanRoomConnections } from './baseline.js';
export {
  readChange,
  type StreamAttributeValue,
  type StreamRecordLike,
  type TableChange,
  unmarshallImage,
} from './changes.js';
export {
  getConnection,
  lastSeenOf,
  putConnection,
  registerUserConnection,
  removeConnection,
  touchConnection,
} from './connections.js';
export {
  collect,
  type Db,
  isConditionFailure,
  type OnDb,
  onDb,
  queryAll,
  queryPages,
  updateIf,
} from './db.js';
export { dynamoStore } from './dynamodb.js';
export { probe } from './health.js';
export {
  CONNECTION_TTL_SECONDS,
  type ConnectionItem,
  GLOBAL_ORIGIN,
  keys,
  type MemberItem,
  type MessageItem,
  SEQ_WIDTH,
  TS_WIDTH,
} from './keys.js';
export { sendSchedule, takeSendToken } from './limits.js';
export {
  addMembership,
  connectionRooms,
  isMember,
  listMembers,
  presenceOf,
  removeMembership,
  roomCount,
} from './memberships.js';
export { createMemoryStore } from './memory.js';
export {
  highestSeq,
  historyPage,
  messagesAfter,
  pageBoundary,
  roomCursor,
  roomOrigins,
  toMessageFrame,
} from './messages.js';
export { BY_TIME_INDEX, createTableInput, TTL_ATTRIBUTE, timeToLiveInput } from './schema.js';
export {
  CLAIM_GRACE_MS,
  getClaim,
  type SendOptions,
  storeMessage,
  storeMessageEventual,
  storeMessageStrong,
} from './sends.js';
export type {
  Ack,
  Connection,
  NewMessage,
  SendOutcome,
  Store,
  StoreMessageOptions,
  StoreOf,
  UserConnection,
} from './types.js';
