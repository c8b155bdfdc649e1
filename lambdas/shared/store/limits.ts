/**
 * The send rate limit in DynamoDB: a token bucket per connection, kept as one number on the
 * connection item (`sendTat`, see {@link sendSchedule}) and taken with atomic conditional updates,
 * so containers running sends of one connection side by side never spend the same token nor
 * starve each other. The limit holds across Lambda containers because it lives in the table.
 *
 * @example
 * ```ts
 * if (!(await takeSendToken(db, connectionId, limitsOf(config), Date.now()))) throw new RateLimitedError('slow down');
 * ```
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Limits } from '../env.js';
import { type Db, updateIf } from './db.js';
import { keys } from './keys.js';

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
  const key = keys.connection(connectionId);
  // Nothing scheduled past now (or a new bucket): the bucket is full.
  if (
    await updateIf(db, key, {
      expression: 'SET sendTat = :next',
      condition: 'attribute_exists(pk) AND (attribute_not_exists(sendTat) OR sendTat <= :now)',
      values: { ':next': now + intervalMs, ':now': now },
    })
  ) {
    return true;
  }
  // Sends scheduled ahead of now, still within the burst. `sendTat` only grows, so once the step
  // above found it past `now` it stays past `now` here.
  if (
    await updateIf(db, key, {
      expression: 'SET sendTat = sendTat + :interval',
      condition: 'attribute_exists(pk) AND sendTat > :now AND sendTat <= :latest',
      values: { ':interval': intervalMs, ':now': now, ':latest': now + toleranceMs },
    })
  ) {
    return true;
  }
  const item = await db.client.send(
    new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true, ProjectionExpression: 'pk' }),
  );
  return item.Item === undefined;
};
