/**
 * Parley's abuse limits, kept in the table so they hold across Lambda containers and regions:
 *
 * - a token bucket per connection for `send`, on the connection item (`sendTokens`,
 *   `sendRefilledAt`), taken with a conditional update so two containers never spend the same
 *   token;
 * - rooms per connection, counted from the connection's `ROOM#` items;
 * - connections per user, counted from `USER#<user>` / `CONN#<connectionId>` items written on
 *   `$connect` and deleted on `$disconnect`;
 * - room access rules from the token's `rooms` claim (patterns with `*`).
 *
 * @example
 * ```ts
 * if (!(await takeSendToken(db, connectionId, limitsOf(config), Date.now()))) throw new RateLimitedError('slow down');
 * ```
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Limits } from './env.js';
import { CONNECTION_TTL_SECONDS, type Db, keys, removeConnection } from './repository.js';

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Attempts of the bucket's compare-and-set before the send is answered `rate_limited`. */
const BUCKET_ATTEMPTS = 3;

/**
 * The bucket's level at `now`: `tokens` refilled at `rate` per second since `refilledAt`, capped
 * at `burst`. A new connection (no bucket yet) starts full.
 */
export const bucketLevel = (
  bucket: { tokens?: number | undefined; refilledAt?: number | undefined },
  limits: Pick<Limits, 'sendRatePerSecond' | 'sendBurst'>,
  now: number,
): number => {
  if (bucket.tokens === undefined || bucket.refilledAt === undefined) return limits.sendBurst;
  const elapsed = Math.max(0, now - bucket.refilledAt);
  return Math.min(limits.sendBurst, bucket.tokens + (elapsed * limits.sendRatePerSecond) / 1000);
};

/**
 * Takes one send token from the connection's bucket. Returns `false` when the bucket is empty
 * (answer `rate_limited`), or when other sends of the same connection keep winning the update.
 * A connection without an item (expired or never stored) is not limited here: `send` refuses it
 * anyway for not being a member of any room.
 */
export const takeSendToken = async (
  db: Db,
  connectionId: string,
  limits: Pick<Limits, 'sendRatePerSecond' | 'sendBurst'>,
  now: number,
): Promise<boolean> => {
  for (let attempt = 0; attempt < BUCKET_ATTEMPTS; attempt += 1) {
    const result = await db.client.send(
      new GetCommand({
        TableName: db.table,
        Key: keys.connection(connectionId),
        ConsistentRead: true,
        ProjectionExpression: 'pk, sendTokens, sendRefilledAt',
      }),
    );
    if (result.Item === undefined) return true;
    const previous = result.Item.sendRefilledAt as number | undefined;
    const tokens = result.Item.sendTokens as number | undefined;
    const level = bucketLevel({ tokens, refilledAt: previous }, limits, now);
    if (level < 1) return false;
    try {
      await db.client.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.connection(connectionId),
          UpdateExpression: 'SET sendTokens = :tokens, sendRefilledAt = :now',
          // Compare-and-set on both bucket fields: a concurrent send that spent a token first
          // changed at least the level (the refill time alone may be equal within one ms).
          ConditionExpression:
            previous === undefined
              ? 'attribute_exists(pk) AND attribute_not_exists(sendRefilledAt)'
              : 'attribute_exists(pk) AND sendRefilledAt = :previous AND sendTokens = :previousTokens',
          ExpressionAttributeValues: {
            ':tokens': level - 1,
            ':now': Math.max(now, previous ?? now),
            ...(previous === undefined ? {} : { ':previous': previous, ':previousTokens': tokens }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
  return false;
};

/** How many rooms a connection is in (its `ROOM#` items). */
export const roomCount = async (db: Db, connectionId: string): Promise<number> => {
  let total = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.client.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `CONN#${connectionId}`, ':prefix': 'ROOM#' },
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    total += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return total;
};

/**
 * Counts the user's open connections (items whose TTL has not passed: TTL deletion lags) and,
 * when under `max`, records this one. Returns `false` when the user is at the limit.
 * Two connections racing may both pass (the limit is approximate by at most the number of
 * simultaneous `$connect`s), which is acceptable for an abuse limit.
 *
 * `$disconnect` is best effort in API Gateway (it can fail or time out), so an entry may outlive
 * its connection. At the limit, each entry of this region is therefore checked with `isGone`
 * (API Gateway's `GetConnection`): gone ones are removed and not counted, so dropped connections
 * can never lock a user out. Entries of other regions count until their TTL.
 */
export const registerUserConnection = async (
  db: Db,
  input: {
    user: string;
    connectionId: string;
    region: string;
    now: number;
    max: number;
    isGone?: (connectionId: string) => Promise<boolean>;
  },
): Promise<boolean> => {
  const nowSeconds = Math.floor(input.now / 1000);
  const others: { connectionId: string; region: unknown }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.client.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':pk': `USER#${input.user}`, ':prefix': 'CONN#', ':now': nowSeconds },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const connectionId = String(item.sk).slice('CONN#'.length);
      if (connectionId !== input.connectionId) others.push({ connectionId, region: item.region });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  let open = others.length;
  if (open >= input.max && input.isGone !== undefined) {
    const isGone = input.isGone;
    const local = others.filter((other) => other.region === input.region);
    // Bounded: a handful of GetConnection calls at a time.
    for (let i = 0; i < local.length && open >= input.max; i += 10) {
      const chunk = local.slice(i, i + 10);
      const gone = await Promise.all(chunk.map((other) => isGone(other.connectionId)));
      const stale = chunk.filter((_, index) => gone[index]);
      await Promise.all(
        stale.map(async (other) => {
          await removeConnection(db, other.connectionId, input.region);
          await db.client.send(
            new DeleteCommand({
              TableName: db.table,
              Key: keys.userConnection(input.user, other.connectionId),
            }),
          );
        }),
      );
      open -= stale.length;
    }
  }
  if (open >= input.max) return false;
  await db.client.send(
    new PutCommand({
      TableName: db.table,
      Item: {
        ...keys.userConnection(input.user, input.connectionId),
        region: input.region,
        connectedAt: input.now,
        ttl: nowSeconds + CONNECTION_TTL_SECONDS,
      },
    }),
  );
  return true;
};

/** Longest accepted `rooms` claim, in patterns. */
export const MAX_ROOM_PATTERNS = 100;

const patternPart = /^[A-Za-z0-9_.:*-]{1,128}$/;

/**
 * Reads a token's `rooms` claim: `undefined` when absent (every room allowed); an array of
 * patterns when valid.
 *
 * @throws Error when present but not an array of at most 100 patterns of room characters and `*`.
 */
export const parseRoomsClaim = (claim: unknown): string[] | undefined => {
  if (claim === undefined) return undefined;
  if (
    !Array.isArray(claim) ||
    claim.length > MAX_ROOM_PATTERNS ||
    !claim.every((pattern) => typeof pattern === 'string' && patternPart.test(pattern))
  ) {
    throw new Error('the rooms claim must be an array of at most 100 room patterns');
  }
  return claim as string[];
};

/** Whether `room` matches one of `patterns` (`*` matches any run of characters, even none). */
export const roomAllowed = (patterns: readonly string[] | undefined, room: string): boolean => {
  if (patterns === undefined) return true;
  return patterns.some((pattern) => {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${source}$`).test(room);
  });
};
