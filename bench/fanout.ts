/** Fan-out throughput: deliveries per second of one room's messages to all its members. */
import { retry } from '../lambdas/shared/retry.js';
import type { BenchSocket } from './clients.js';
import { waitFor } from './harness.js';
import { noop } from './layout.js';

/** A send answered `rate_limited`: sent again, with the same id. */
class RateLimited extends Error {}

/**
 * Fan-out throughput: one member publishes `messages`, each as soon as the previous one is
 * acknowledged (both designs acknowledge before they deliver, so deliveries overlap the next
 * sends; a `rate_limited` answer is retried with the same id, as the SDK does); deliveries per
 * second from the first send to the last delivery (or to the end of the budget, counting what
 * arrived). One publisher, because Parley orders a room's messages: concurrent sends to one room
 * contend for its sequence counter, which would measure that contention rather than fan-out.
 */
export const measureFanout = async (
  members: BenchSocket[],
  room: string,
  messages: number,
  budgetMs: number,
  tag: string,
): Promise<{ rate: number; delivered: number; missingAfterDrain: number }> => {
  if (members.length === 0) throw new Error('empty room');
  const ids = new Set(Array.from({ length: messages }, (_, i) => `fan-${tag}-${Date.now()}-${i}`));
  const expected = messages * members.length;
  let delivered = 0;
  let last = 0;
  let finish = noop;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  for (const member of members) {
    member.onFrame = (frame, at) => {
      if (frame.type !== 'message' || frame.room !== room || !ids.has(String(frame.id))) return;
      delivered++;
      last = at;
      if (delivered >= expected) finish();
    };
  }
  const started = performance.now();
  const queue = [...ids];
  const publish = async (from: BenchSocket): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      await retry(
        async () => {
          const reply = await from
            .request({ action: 'send', room, id, body: { text: 'fan-out probe' } }, budgetMs)
            .catch(() => undefined);
          if (reply?.type === 'error' && reply.code === 'rate_limited') throw new RateLimited();
        },
        {
          attempts: 20,
          retryable: (error) => error instanceof RateLimited,
          delayMs: () => 10 + Math.random() * 20,
        },
      ).catch((error: unknown) => {
        // Still limited after every attempt: the message is given up, as before, and counts as missing.
        if (!(error instanceof RateLimited)) throw error;
      });
    }
  };
  void publish(members[0] as BenchSocket);
  const timer = setTimeout(finish, budgetMs);
  await done;
  clearTimeout(timer);
  const complete = delivered >= expected;
  const elapsed = complete ? last - started : performance.now() - started;
  const counted = delivered;
  // A design that did not finish in time still has work queued: let it drain (uncounted), so the
  // next run does not start behind it.
  if (!complete) await waitFor(() => delivered >= expected, DRAIN_MS, 100);
  for (const member of members) member.onFrame = noop;
  return {
    rate: counted / (elapsed / 1000),
    delivered: counted,
    missingAfterDrain: Math.max(0, expected - delivered),
  };
};

/** How long an unfinished fan-out run may drain before the next one starts. */
export const DRAIN_MS = 10_000;
