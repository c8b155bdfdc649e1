/**
 * The per-connection rate limits in DynamoDB: a token bucket per action and connection, each kept
 * as one number on the connection item (`<action>Tat`, see {@link tatAttribute} and
 * {@link rateSchedule}) and taken with atomic conditional updates, so containers running requests
 * of one connection side by side never spend the same token nor starve each other. The limits hold
 * across Lambda containers because they live in the table.
 *
 * @example
 * ```ts
 * if (!(await takeToken(db, connectionId, 'send', { perSecond: 10, burst: 20 }, Date.now()))) throw new RateLimitedError('slow down');
 * ```
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ClientAction } from '../../../protocol/index.js';
import { type Db, updateIf } from './db.js';
import { keys } from './keys.js';

/** One action's rate limit: tokens refilled per second, and how many a connection may spend at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** What a take of a token does besides. */
export interface TakeOptions {
  /**
   * Also records the connection's `lastSeen` (now) in the same write: `ping`'s heartbeat, so that
   * its limit costs no write of its own and a refused ping records nothing.
   */
  seen?: boolean;
}

/**
 * The attribute of the connection item that holds `action`'s bucket: `sendTat`, `joinTat`, ...
 * (`sendTat` is the name the send limit has always had, so buckets of connections open across a
 * deploy stay valid).
 */
export const tatAttribute = <A extends ClientAction>(action: A): `${A}Tat` => `${action}Tat`;

/** The attribute of one action's bucket. */
export type TatAttribute = `${ClientAction}Tat`;

/**
 * A rate limit's schedule: a token bucket of `burst` tokens refilled at `perSecond`, kept as GCRA
 * (the generic cell rate algorithm) in one number, the TAT: the time (ms) at which the bucket is
 * full again. A request at `now` is allowed when the TAT is at most `now + toleranceMs`, and moves
 * it to `max(TAT, now) + intervalMs`: exactly `burst` requests at once, then one every `intervalMs`.
 */
export const rateSchedule = (rate: Rate): { intervalMs: number; toleranceMs: number } => {
  const intervalMs = 1000 / rate.perSecond;
  return { intervalMs, toleranceMs: (rate.burst - 1) * intervalMs };
};

/**
 * Takes one token from the connection's bucket of `action` (see {@link rateSchedule}). Returns
 * `false` when the burst is spent (answer `rate_limited`); then nothing is written.
 *
 * Each step is one conditional update that DynamoDB applies atomically, with no read before it, so
 * concurrent requests of one connection (Lambda runs them side by side) each get their turn instead
 * of losing a compare-and-set: a burst of `burst` concurrent requests is allowed whole. A refused
 * take reads the item once, to tell a spent burst from a connection without an item, which is not
 * limited here: the item lives from `$connect` to `$disconnect`, so such a connection is going or
 * gone, and a write must not recreate it.
 * An allowed take costs one write (two when others are ahead of it, within the burst); a refused
 * one two failed conditional writes, which DynamoDB bills too, and the read.
 */
export const takeToken = async (
  db: Db,
  connectionId: string,
  action: ClientAction,
  rate: Rate,
  now: number,
  options: TakeOptions = {},
): Promise<boolean> => {
  const { intervalMs, toleranceMs } = rateSchedule(rate);
  const key = keys.connection(connectionId);
  // The name is the action's (the protocol's `[a-z]+` names), never a client's string.
  const tat = tatAttribute(action);
  const seen = options.seen === true ? ', lastSeen = :now' : '';
  // Nothing scheduled past now (or a new bucket): the bucket is full.
  if (
    await updateIf(db, key, {
      expression: `SET ${tat} = :next${seen}`,
      condition: `attribute_exists(pk) AND (attribute_not_exists(${tat}) OR ${tat} <= :now)`,
      values: { ':next': now + intervalMs, ':now': now },
    })
  ) {
    return true;
  }
  // Requests scheduled ahead of now, still within the burst. The TAT only grows, so once the step
  // above found it past `now` it stays past `now` here.
  if (
    await updateIf(db, key, {
      expression: `SET ${tat} = ${tat} + :interval${seen}`,
      condition: `attribute_exists(pk) AND ${tat} > :now AND ${tat} <= :latest`,
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
