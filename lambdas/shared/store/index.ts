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
 * const store = onDb<StoreOf<'listMembers' | 'removeConnection'>>(
 *   { client: dynamo(), table: 'parley' },
 *   { listMembers, removeConnection },
 * );
 * const members = await store.listMembers('lobby', 'us-east-1');
 * ```
 */
export * from './admission.js';
export * from './baseline.js';
export * from './changes.js';
export * from './connections.js';
export * from './db.js';
export * from './dynamodb.js';
export * from './health.js';
export * from './keys.js';
export * from './limits.js';
export * from './memberships.js';
export * from './memory.js';
export * from './messages.js';
export * from './schema.js';
export * from './sends.js';
export * from './types.js';
