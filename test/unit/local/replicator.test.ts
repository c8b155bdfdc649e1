/**
 * Replication between two regions against scripted streams and tables: ordered apply, no echo,
 * last writer wins, an injected link delay, and an outage that holds replication both ways until
 * it ends. What must not happen is shown by a later write that is applied (the links apply in
 * order) or by a write held for many polls, never by a fixed sleep.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { Replicator } from '../../../local/replicator.js';
import type { BufferedRecord, StreamReader } from '../../../local/stream-reader.js';

const write = (key: string, value: string, observedAt = Date.now()): BufferedRecord => ({
  shardId: 's',
  observedAt,
  record: {
    eventName: 'INSERT',
    dynamodb: { Keys: { pk: { S: key } }, NewImage: { pk: { S: key }, v: { S: value } } },
  },
});

const valuesOf = (applied: { input: Record<string, unknown> }[]) =>
  applied.map((x) => (x.input.Item as Record<string, { S: string }>).v?.S);

const region = () => {
  const pending: BufferedRecord[] = [];
  const applied: { command: string; input: Record<string, unknown> }[] = [];
  const reader = {
    get pending() {
      return pending;
    },
    commit: (count: number) => void pending.splice(0, count),
    poll: async () => 0,
  };
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) =>
      void applied.push({ command: command.constructor.name, input: command.input }),
  };
  return {
    pending,
    applied,
    reader: reader as unknown as StreamReader,
    client: client as unknown as DynamoDBClient,
  };
};

let replicator: Replicator | undefined;
afterEach(async () => {
  await replicator?.stop();
});

const setup = (down: Set<string> = new Set(), delayMs?: (source: string, target: string) => number) => {
  const a = region();
  const b = region();
  replicator = new Replicator({
    tableName: 'parley',
    regions: ['a', 'b'],
    clients: { a: a.client, b: b.client },
    readers: { a: a.reader, b: b.reader },
    isDown: (name) => down.has(name),
    pollIntervalMs: 5,
    ...(delayMs ? { delayMs } : {}),
    log: () => undefined,
  });
  replicator.start();
  return { a, b };
};

describe('Local replication', () => {
  it('applies writes in order to the other region and never replicates them back', async () => {
    const { a, b } = setup();
    a.pending.push(write('k1', 'one'), write('k2', 'two'));
    await expect.poll(() => b.applied.length).toBe(2);
    expect(b.applied.map((x) => x.command)).toEqual(['PutItemCommand', 'PutItemCommand']);
    expect(b.applied.map((x) => (x.input.Item as Record<string, { S: string }>).v?.S)).toEqual([
      'one',
      'two',
    ]);
    // The applied writes show up in b's stream: recognised, not sent back to a. A new write of b
    // after them reaches a, and the link applies in order: had the echoes been queued, they would
    // have been applied first.
    b.pending.push(write('k1', 'one'), write('k2', 'two'), write('k3', 'three'));
    await expect.poll(() => a.applied.length).toBe(1);
    expect(valuesOf(a.applied)).toEqual(['three']);
    expect(replicator?.idle()).toBe(true);
  });

  it('lets the last writer win when both regions write one item', async () => {
    const { a, b } = setup();
    const now = Date.now();
    b.pending.push(write('k', 'from b, later', now));
    await expect.poll(() => a.applied.length).toBe(1);
    // a's earlier write of the item loses in b; a's next write, to another item, is applied after it.
    a.pending.push(write('k', 'from a, earlier', now - 1_000), write('k2', 'from a, new'));
    await expect.poll(() => b.applied.length).toBe(1);
    expect(valuesOf(b.applied)).toEqual(['from a, new']);
  });

  it('holds replication both ways during an outage and catches up after it', async () => {
    const down = new Set(['b']);
    const { a, b } = setup(down);
    const pushedAt = Date.now();
    a.pending.push(write('k1', 'to b'));
    b.pending.push(write('k2', 'to a'));
    // Both writes read and held, each for ten poll intervals and more: not applied either way.
    await expect.poll(() => replicator?.status().every((link) => link.pending === 1)).toBe(true);
    await expect
      .poll(() => Math.min(replicator?.lagInto('a') ?? 0, replicator?.lagInto('b') ?? 0))
      .toBeGreaterThanOrEqual(50);
    expect(a.applied).toHaveLength(0);
    expect(b.applied).toHaveLength(0);
    const heldMs = Date.now() - pushedAt;
    down.delete('b');
    await expect.poll(() => a.applied.length + b.applied.length).toBe(2);
    // The lag of the catch-up is the time the writes were held.
    expect(replicator?.lagInto('a')).toBeGreaterThanOrEqual(heldMs);
    expect(replicator?.lagInto('b')).toBeGreaterThanOrEqual(heldMs);
  });

  it('holds a write for the injected delay of its link, and reports the lag while it waits', async () => {
    const { a, b } = setup(new Set(), (source, target) => (source === 'a' && target === 'b' ? 500 : 0));
    a.pending.push(write('k', 'delayed'));
    await expect.poll(() => replicator?.lagInto('b')).toBeGreaterThan(0);
    expect(b.applied).toHaveLength(0);
    expect(replicator?.status().find((link) => link.target === 'b')?.pending).toBe(1);
    await expect.poll(() => b.applied.length, { timeout: 5_000 }).toBe(1);
    expect(replicator?.idle()).toBe(true);
    // Applied no sooner than the delay after it was seen; the other link carried nothing.
    expect(replicator?.lagInto('b')).toBeGreaterThanOrEqual(500);
    expect(replicator?.lagInto('a')).toBe(0);
  });
});
