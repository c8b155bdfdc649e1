/**
 * The whole DynamoDB store over one table, for code that runs outside a handler bundle (tests,
 * tools). A handler never uses this: it binds the functions it calls with `onDb`, so that its
 * bundle, and its IAM policy, hold those calls only.
 *
 * @example
 * ```ts
 * const store = dynamoStore({ client: documentClient(new DynamoDBClient({})), table: 'parley' });
 * await store.putConnection({ connectionId: 'c1', user: 'alice', region: 'us-east-1', now: Date.now() });
 * ```
 */
import {
  getConnection,
  lastSeenOf,
  putConnection,
  registerUserConnection,
  removeConnection,
} from './connections.js';
import { type Db, onDb } from './db.js';
import { probe } from './health.js';
import { takeToken } from './limits.js';
import {
  addMembership,
  countPresent,
  isMember,
  listMembers,
  presentMembers,
  removeMembership,
  roomCount,
} from './memberships.js';
import { historyPage, messagesAfter, roomCursor } from './messages.js';
import { storeMessage } from './sends.js';
import type { Store } from './types.js';

/** Every store method, on `db`. */
export const dynamoStore = (db: Db): Store =>
  onDb<Store>(db, {
    putConnection,
    getConnection,
    lastSeenOf,
    removeConnection,
    registerUserConnection,
    addMembership,
    isMember,
    removeMembership,
    listMembers,
    presentMembers,
    countPresent,
    roomCount,
    storeMessage,
    roomCursor,
    messagesAfter,
    historyPage,
    takeToken,
    probe,
  });
