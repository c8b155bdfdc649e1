/**
 * Parley's abuse limits, kept in the table so they hold across Lambda containers and regions:
 *
 * - a token bucket per connection for `send`, kept as one number on the connection item
 *   (`sendTat`, see {@link sendSchedule}) and taken with atomic conditional updates, so containers
 *   running sends of one connection side by side never spend the same token nor starve each other;
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

/**
 * The send rate limit's schedule: a token bucket of `sendBurst` tokens refilled at
 * `sendRatePerSecond`, kept as GCRA (the generic cell rate algorithm) in one number, `sendTat`, the
 * time (ms) at which the bucket is full again. A send at `now` is allowed when `sendTat` is at most
 * `now + toleranceMs`, and moves it to `max(sendTat, now) + intervalMs`: exactly `sendBurst` sends
 * at once, then one every `intervalMs`.
 */
export const sendSchedule = (
  limits: Pick<Limits, 'sendRatePerSecond' | 'sendBurst'>,
): { intervalMs: number; toleranceMs: number } => {
  const intervalMs = 1000 / limits.sendRatePerSecond;
  return { intervalMs, toleranceMs: (limits.sendBurst - 1) * intervalMs };
};

/** Runs a conditional update; false when its condition does not hold. */
const updateIf = async (
  db: Db,
  connectionId: string,
  update: string,
  condition: string,
  values: Record<string, number>,
): Promise<boolean> => {
  try {
    await db.client.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.connection(connectionId),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

/**
 * Takes one send from the connection's rate limit (see {@link sendSchedule}). Returns `false` when
 * the burst is spent (answer `rate_limited`).
 *
 * Each step is one conditional update that DynamoDB applies atomically, with no read before it, so
 * concurrent sends of one connection (Lambda runs them side by side) each get their turn instead of
 * losing a compare-and-set: a burst of `sendBurst` concurrent sends is allowed whole. A send that
 * is refused reads the item once, to tell a spent burst from a connection without an item, which is
 * not limited here: `send` refuses it anyway for not being a member of any room. An allowed send
 * costs one write (two when others are ahead of it); a refused one two failed conditional writes,
 * which DynamoDB bills too, and the read.
 */
export const takeSendToken = async (
  db: Db,
  connectionId: string,
  limits: Pick<Limits, 'sendRatePerSecond' | 'sendBurst'>,
  now: number,
): Promise<boolean> => {
  const { intervalMs, toleranceMs } = sendSchedule(limits);
  // Nothing scheduled past now (or a new bucket): the bucket is full.
  if (
    await updateIf(
      db,
      connectionId,
      'SET sendTat = :next',
      'attribute_exists(pk) AND (attribute_not_exists(sendTat) OR sendTat <= :now)',
      { ':next': now + intervalMs, ':now': now },
    )
  ) {
    return true;
  }
  // Sends scheduled ahead of now, still within the burst. `sendTat` only grows, so once the step
  // above found it past `now` it stays past `now` here.
  if (
    await updateIf(
      db,
      connectionId,
      'SET sendTat = sendTat + :interval',
      'attribute_exists(pk) AND sendTat > :now AND sendTat <= :latest',
      { ':interval': intervalMs, ':now': now, ':latest': now + toleranceMs },
    )
  ) {
    return true;
  }
  const item = await db.client.send(
    new GetCommand({
      TableName: db.table,
      Key: keys.connection(connectionId),
      ConsistentRead: true,
      ProjectionExpression: 'pk',
    }),
  );
  return item.Item === undefined;
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
