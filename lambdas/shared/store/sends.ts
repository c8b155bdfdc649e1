/**
 * The send algorithm in DynamoDB: each message is stored once per `(room, id)` (the idempotency
 * claim `ID#<id>`) under the next gap-free seq of its origin (the counter `SEQ#<origin>`). Eventual
 * mode does it in one transaction; strong mode, which has no transactions, with ordered
 * conditional writes. See `docs/data-model.md`.
 *
 * @example
 * ```ts
 * const outcome = await storeMessage(db, message, { consistency: 'eventual', retentionDays: 30 });
 * if (!outcome.duplicate) await deliver(outcome.message);
 * ```
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, ContentionError } from '../errors.js';
import { exponential, fullJitter, isRetryLater, RetryLater, retry, type Sleep } from '../retry.js';
import { type Db, isConditionFailure } from './db.js';
import { GLOBAL_ORIGIN, keys, type MessageItem, partitions, retainedUntil } from './keys.js';
import { messageRange, storedMessage } from './messages.js';
import type { Ack, NewMessage, SendOutcome, StoreMessageOptions } from './types.js';

/** Knobs of the send algorithm; tests pass a fake clock and sleep. */
export interface SendOptions {
  /** Message and claim retention. */
  retentionDays: number;
  /** Clock, ms since the epoch. */
  now?: () => number;
  /** Sleep between retries. */
  sleep?: (ms: number) => Promise<void>;
  /** Bound on counter races before giving up with `rate_limited`. */
  maxAttempts?: number;
}

/** One of the two ways of storing a message, eventual or strong. */
export type SendAlgorithm = (db: Db, message: NewMessage, options: SendOptions) => Promise<SendOutcome>;

/** Reads the claim of `(room, id)`. */
export const getClaim = async (
  db: Db,
  room: string,
  id: string,
): Promise<{ origin?: string; seq?: number; ts?: number; from?: string; claimedAt?: number } | undefined> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.claim(room, id), ConsistentRead: true }),
  );
  return result.Item as { origin?: string; seq?: number; ts?: number; from?: string } | undefined;
};

const readCounter = async (db: Db, room: string, origin: string): Promise<number> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.counter(room, origin), ConsistentRead: true }),
  );
  return result.Item === undefined ? 0 : Number(result.Item.seq);
};

/** The message item of a new message: the message as stored, its keys, the `byTime` keys, its TTL. */
export const messageItem = (message: MessageItem, ttl: number) => ({
  ...keys.message(message.room, message.origin, message.seq),
  ...message,
  gpk: partitions.room(message.room),
  gsk: keys.timeSortKey(message.ts, message.origin, message.seq),
  ttl,
});

/** The idempotency claim of an eventual-mode send: who stored `(room, id)`, under which ack. */
export const claimItem = (message: MessageItem, ttl: number) => ({
  ...keys.claim(message.room, message.id),
  origin: message.origin,
  seq: message.seq,
  ts: message.ts,
  from: message.from,
  ttl,
});

/**
 * Refuses a send whose `(room, id)` another sender claimed: ids are idempotency keys per sender
 * (`docs/protocol.md`, "Limits"), so the retry of one sender is a duplicate, and the same id from
 * another is a `conflict`, with nothing stored.
 *
 * @throws ConflictError when the claim is another sender's.
 */
const refuseTaken = (claim: Awaited<ReturnType<typeof getClaim>>, message: NewMessage): void => {
  if (claim?.from !== undefined && claim.from !== message.from) {
    throw new ConflictError(`id ${message.id} is already used in room ${message.room} by another sender`);
  }
};

/** The ack a claim records, once its send has one. */
const ackOf = (claim: Awaited<ReturnType<typeof getClaim>>): Ack | undefined =>
  claim?.seq !== undefined && claim.origin !== undefined && claim.ts !== undefined
    ? { origin: claim.origin, seq: Number(claim.seq), ts: Number(claim.ts) }
    : undefined;

/** The update that records a send's ack on its claim. */
const recordAck = (message: NewMessage, ack: Ack) => ({
  Key: keys.claim(message.room, message.id),
  UpdateExpression: 'SET origin = :origin, seq = :seq, ts = :ts',
  ExpressionAttributeValues: { ':origin': ack.origin, ':seq': ack.seq, ':ts': ack.ts },
});

const cancellationCodes = (error: unknown): (string | undefined)[] | undefined => {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code);
};

/**
 * Eventual mode: claim `(room, id)`, advance `SEQ#<region>` from `n` to `n + 1` and store
 * `MSG#<region>#<n+1>` in one `TransactWriteItems`, so a crash can never leave a gap or a
 * half-written message. A lost counter race re-reads the counter and retries with jitter; a taken
 * claim answers the first ack.
 *
 * @throws ContentionError after `maxAttempts` lost races (the client retries with the same id).
 */
export const storeMessageEventual: SendAlgorithm = async (db, message, options) => {
  const now = options.now ?? Date.now;
  const origin = message.region;
  const attempt = async (): Promise<SendOutcome> => {
    const current = await readCounter(db, message.room, origin);
    const seq = current + 1;
    const ts = now();
    const ttl = retainedUntil(ts, options.retentionDays);
    const stored = storedMessage(message, origin, seq, ts);
    try {
      await db.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: db.table,
                Item: claimItem(stored, ttl),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: db.table,
                Key: keys.counter(message.room, origin),
                UpdateExpression: 'SET seq = :next',
                ConditionExpression: current === 0 ? 'attribute_not_exists(pk)' : 'seq = :current',
                ExpressionAttributeValues:
                  current === 0 ? { ':next': seq } : { ':next': seq, ':current': current },
              },
            },
            {
              Put: {
                TableName: db.table,
                Item: messageItem(stored, ttl),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { duplicate: false, ack: { origin, seq, ts }, message: stored };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes === undefined) throw error;
      if (codes[0] === 'ConditionalCheckFailed') {
        const claim = await getClaim(db, message.room, message.id);
        refuseTaken(claim, message);
        const first = ackOf(claim);
        if (first !== undefined) return { duplicate: true, ack: first };
      }
      // Another send took this seq, or the transaction collided with one: read again and retry.
      throw new RetryLater(`another send took seq ${seq}`);
    }
  };
  try {
    return await retry(attempt, {
      attempts: options.maxAttempts ?? 64,
      retryable: isRetryLater,
      delayMs: (lost) => fullJitter(Math.min(lost, 6), 5, 100),
      sleep: options.sleep,
    });
  } catch (error) {
    if (isRetryLater(error)) throw busy(message);
    throw error;
  }
};

/** The answer to a send that stayed in contention past its bound (the client retries). */
const busy = (message: NewMessage): ContentionError =>
  new ContentionError(`room ${message.room} is busy; retry the send with the same id`);

/** Runs a strong-mode write, retrying `ReplicatedWriteConflictException` with backoff. */
const withConflictRetry = <T>(run: () => Promise<T>, wait: Sleep | undefined): Promise<T> =>
  retry(run, {
    attempts: 8,
    retryable: (error) => error instanceof Error && error.name === 'ReplicatedWriteConflictException',
    delayMs: (attempt) => fullJitter(attempt, 20, 1_000),
    sleep: wait,
  });

/** How long a claim without a seq is treated as a send still in flight. */
export const CLAIM_GRACE_MS = 3_000;
/** How many of the newest slots a retry searches for its own id. */
const OWN_SLOT_SEARCH = 25;

/**
 * Strong mode (multi-Region strong consistency has no transactions): ordered conditional writes.
 * 1. claim `(room, id)`; 2. read `SEQ#global`; 3. put `MSG#global#<n+1>` if absent, else the next
 * slot; 4. raise the counter if lower; 5. record the seq on the claim. A claim found without a seq
 * belongs to a send in flight (wait for it) or to one that crashed (look for its message in the
 * newest slots, else take a slot now).
 *
 * @throws ContentionError when no slot could be taken within the bound.
 */
export const storeMessageStrong: SendAlgorithm = async (db, message, options) => {
  const now = options.now ?? Date.now;
  const sleep = options.sleep;
  const origin = GLOBAL_ORIGIN;
  // Every write of strong mode is retried on a replicated write conflict; its puts only ever
  // create an item (the claim, a slot), never overwrite one.
  const put = (item: Record<string, unknown>) =>
    withConflictRetry(
      () =>
        db.client.send(
          new PutCommand({
            TableName: db.table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      sleep,
    );
  const update = (input: Omit<UpdateCommandInput, 'TableName'>) =>
    withConflictRetry(() => db.client.send(new UpdateCommand({ TableName: db.table, ...input })), sleep);

  const claimedAt = now();
  try {
    await put({
      ...keys.claim(message.room, message.id),
      from: message.from,
      claimedAt,
      ttl: retainedUntil(claimedAt, options.retentionDays),
    });
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const earlier = await resolveExistingClaim(db, message, { now, sleep });
    if (earlier !== undefined) return earlier;
  }

  let slot = (await readCounter(db, message.room, origin)) + 1;
  for (let attempt = 0; attempt < (options.maxAttempts ?? 64); attempt++) {
    const ts = now();
    const stored = storedMessage(message, origin, slot, ts);
    try {
      await put(messageItem(stored, retainedUntil(ts, options.retentionDays)));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      slot += 1; // taken by a concurrent send: the next slot keeps the sequence gap-free
      continue;
    }
    try {
      await update({
        Key: keys.counter(message.room, origin),
        UpdateExpression: 'SET seq = :seq',
        ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
        ExpressionAttributeValues: { ':seq': slot },
      });
    } catch (error) {
      // A later slot already raised the counter past ours: nothing to do.
      if (!isConditionFailure(error)) throw error;
    }
    const ack = { origin, seq: slot, ts };
    await update(recordAck(message, ack));
    return { duplicate: false, ack, message: stored };
  }
  throw busy(message);
};

/**
 * A strong-mode claim already exists. Returns the ack (duplicate) when it has a seq, the found
 * message (to deliver) when an interrupted send stored it, or `undefined` to take a new slot.
 */
const resolveExistingClaim = async (
  db: Db,
  message: NewMessage,
  clock: { now: () => number; sleep: Sleep | undefined },
): Promise<SendOutcome | undefined> => {
  const attempt = async (): Promise<SendOutcome | undefined> => {
    const claim = await getClaim(db, message.room, message.id);
    refuseTaken(claim, message);
    const first = ackOf(claim);
    if (first !== undefined) return { duplicate: true, ack: first };
    const age = clock.now() - Number(claim?.claimedAt ?? 0);
    const own = await findOwnSlot(db, message);
    if (own !== undefined) {
      const ack = { origin: own.origin, seq: Number(own.seq), ts: Number(own.ts) };
      // The first send is still in flight and will deliver its message: answer its ack only.
      if (claim !== undefined && age < CLAIM_GRACE_MS) return { duplicate: true, ack };
      // The first send stored its message and stopped: finish its claim and deliver it now.
      await db.client.send(new UpdateCommand({ TableName: db.table, ...recordAck(message, own) }));
      return { duplicate: false, ack, message: own };
    }
    if (claim === undefined || age >= CLAIM_GRACE_MS) return undefined;
    throw new RetryLater('the first send of this id is still in flight');
  };
  try {
    return await retry(attempt, {
      attempts: 20,
      retryable: isRetryLater,
      delayMs: (waited) => exponential(waited, 50, 400),
      sleep: clock.sleep,
    });
  } catch (error) {
    // Still in flight after the bound: take a slot of its own.
    if (isRetryLater(error)) return undefined;
    throw error;
  }
};

const findOwnSlot = async (db: Db, message: NewMessage): Promise<MessageItem | undefined> => {
  const result = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      ...messageRange(message.room, GLOBAL_ORIGIN, 0),
      ScanIndexForward: false,
      Limit: OWN_SLOT_SEARCH,
      ConsistentRead: true,
    }),
  );
  return (result.Items as MessageItem[] | undefined)?.find(
    (item) => item.id === message.id && item.from === message.from,
  );
};

/**
 * Stores a message by the table's consistency mode: {@link storeMessageStrong} or
 * {@link storeMessageEventual}.
 */
export const storeMessage = (
  db: Db,
  message: NewMessage,
  options: StoreMessageOptions & SendOptions,
): Promise<SendOutcome> =>
  options.consistency === 'strong'
    ? storeMessageStrong(db, message, options)
    : storeMessageEventual(db, message, options);
