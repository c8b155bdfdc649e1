/**
 * Reads one table's DynamoDB stream (from DynamoDB Local) into an ordered in-memory buffer that a
 * consumer peeks at and commits from, the way an event source mapping or the replicator keeps a
 * checkpoint. Shards are followed through their lineage: a child shard is read once its parent
 * has closed, so a key's records stay in order.
 */
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';

/** A buffered stream record. */
export interface BufferedRecord {
  record: _Record;
  shardId: string;
  /** When the reader first saw the record (DynamoDB Local's own timestamps are per minute). */
  observedAt: number;
}

interface ShardState {
  parent: string | undefined;
  iterator: string | undefined;
  closed: boolean;
  /** The last sequence number read, to resume after an iterator expires (15 minutes unused). */
  lastSequenceNumber: string | undefined;
}

/** One reader of one stream. */
export class StreamReader {
  private readonly shards = new Map<string, ShardState>();
  private readonly buffer: BufferedRecord[] = [];
  private polls = 0;
  private lastSeen = 0;

  constructor(
    private readonly client: DynamoDBStreamsClient,
    readonly streamArn: string,
  ) {}

  /** Records read and not committed yet, oldest first. */
  get pending(): readonly BufferedRecord[] {
    return this.buffer;
  }

  /** Drops the first `count` records (they are done). */
  commit(count: number): void {
    this.buffer.splice(0, count);
  }

  /** Time the newest record was first seen (0 before any). */
  get lastSeenAt(): number {
    return this.lastSeen;
  }

  private async describe(): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.client.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      for (const shard of page.StreamDescription?.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) {
          this.shards.set(shard.ShardId, {
            parent: shard.ParentShardId,
            iterator: undefined,
            closed: false,
            lastSequenceNumber: undefined,
          });
        }
      }
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
  }

  private readable(state: ShardState): boolean {
    if (state.closed) return false;
    const parent = state.parent ? this.shards.get(state.parent) : undefined;
    return !parent || parent.closed;
  }

  /** Reads what is new on every readable shard into the buffer; returns how many records arrived. */
  async poll(): Promise<number> {
    if (this.polls++ % 20 === 0 || this.shards.size === 0) await this.describe();
    let arrived = 0;
    let shardClosed = false;
    for (const [shardId, state] of this.shards) {
      if (!this.readable(state)) continue;
      if (!state.iterator) {
        const iterator = await this.client.send(
          new GetShardIteratorCommand({
            StreamArn: this.streamArn,
            ShardId: shardId,
            ...(state.lastSequenceNumber
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: state.lastSequenceNumber }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        );
        state.iterator = iterator.ShardIterator;
        if (!state.iterator) {
          state.closed = true;
          continue;
        }
      }
      // Drain the shard: GetRecords returns at most 1000 records or 1 MB per call.
      for (;;) {
        let page: GetRecordsCommandOutput;
        try {
          page = await this.client.send(
            new GetRecordsCommand({ ShardIterator: state.iterator, Limit: 1000 }),
          );
        } catch (error) {
          // An iterator unused for 15 minutes (a long outage) expires: resume after the last record.
          if ((error as { name?: string }).name !== 'ExpiredIteratorException') throw error;
          state.iterator = undefined;
          break;
        }
        const now = Date.now();
        for (const record of page.Records ?? []) {
          this.buffer.push({ record, shardId, observedAt: now });
          state.lastSequenceNumber = record.dynamodb?.SequenceNumber ?? state.lastSequenceNumber;
          this.lastSeen = now;
          arrived++;
        }
        state.iterator = page.NextShardIterator;
        if (!state.iterator) {
          state.closed = true;
          shardClosed = true;
          break;
        }
        if ((page.Records ?? []).length === 0) break;
      }
    }
    // A closed shard has children to discover before the next poll.
    if (shardClosed) await this.describe();
    return arrived;
  }
}
