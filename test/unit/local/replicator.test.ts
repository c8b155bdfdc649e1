/**
 * Replication between two regions against scripted streams and tables: ordered apply, no echo,
 * last writer wins, and an outage that holds replication both ways until it ends.
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

const setup = (down: Set<string> = new Set()) => {
  const a = region();
  const b = region();
  replicator = new Replicator({
    tableName: 'parley',
    regions: ['a', 'b'],
    clients: { a: a.client, b: b.client },
    readers: { a: a.reader, b: b.reader },
    isDown: (name) => down.has(name),
    pollIntervalMs: 5,
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
    // The applied writes show up in b's stream: recognised, not sent back to a.
    b.pending.push(write('k1', 'one'), write('k2', 'two'));
    await expect.poll(() => b.pending.length).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.applied).toHaveLength(0);
    expect(replicator?.idle()).toBe(true);
  });

  it('lets the last writer win when both regions write one item', async () => {
    const { a, b } = setup();
    const now = Date.now();
    b.pending.push(write('k', 'from b, later', now));
    await expect.poll(() => a.applied.length).toBe(1);
    a.pending.push(write('k', 'from a, earlier', now - 1_000));
    await expect.poll(() => a.pending.length).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.applied).toHaveLength(0);
  });

  it('holds replication both ways during an outage and catches up after it', async () => {
    const down = new Set(['b']);
    const { a, b } = setup(down);
    a.pending.push(write('k1', 'to b'));
    b.pending.push(write('k2', 'to a'));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.applied).toHaveLength(0);
    expect(b.applied).toHaveLength(0);
    expect(replicator?.status().every((link) => link.pending === 1)).toBe(true);
    down.delete('b');
    await expect.poll(() => a.applied.length + b.applied.length).toBe(2);
    expect(replicator?.lagInto('a')).toBeGreaterThanOrEqual(0);
  });
});
