/**
 * Plays DynamoDB global-table replication between the regions' tables in DynamoDB Local: every
 * write in one region's stream is applied, in order, to every other region's table; concurrent
 * writes to one item resolve by last writer wins on the write's time; the writes the replicator
 * applies are recognised in the target's stream and never replicated again. A region in a
 * simulated outage neither sends nor receives until it recovers, then catches up from where it
 * stopped: nothing is dropped, because each (source, target) pair keeps its own queue.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { sleep } from '../lambdas/shared/retry.js';
import type { BufferedRecord, StreamReader } from './stream-reader.js';

/** JSON with sorted object keys, so equal images give equal strings. */
const stable = (value: unknown): string => {
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

const keyOf = (record: _Record): string => stable(record.dynamodb?.Keys ?? {});
const imageOf = (record: _Record): string =>
  record.eventName === 'REMOVE' ? 'REMOVE' : stable(record.dynamodb?.NewImage ?? {});

/** Replication state of one (source, target) pair, for the regions endpoint. */
export interface ReplicationLink {
  source: string;
  target: string;
  /** Records read from the source and not applied to the target yet. */
  pending: number;
  /** Age of the oldest pending record, else the lag of the last applied one (ms). */
  lagMs: number;
  applied: number;
}

/** Options of {@link Replicator}. */
export interface ReplicatorOptions {
  tableName: string;
  regions: string[];
  clients: Record<string, DynamoDBClient>;
  readers: Record<string, StreamReader>;
  /** Whether a region is in a simulated outage. */
  isDown: (region: string) => boolean;
  pollIntervalMs?: number;
  /** Injected delay of a link (ms): a write is applied no sooner than this after it was seen. */
  delayMs?: (source: string, target: string) => number;
  /** Injected pause: while true no link applies anything (nothing is dropped). */
  paused?: () => boolean;
  log: (line: string) => void;
}

interface Link {
  source: string;
  target: string;
  queue: BufferedRecord[];
  lastLagMs: number;
  applied: number;
}

/** How long an applied write is remembered while its echo is awaited. */
const ECHO_MEMORY_MS = 5 * 60 * 1000;

/** The replicator: one loop per source region. */
export class Replicator {
  private readonly links: Link[] = [];
  /** Per target region: key -> images applied there whose echo has not been seen yet. */
  private readonly echoes = new Map<string, Map<string, { image: string; at: number }[]>>();
  /** Per region: key -> time of the latest write to that item known in that region's table. */
  private readonly lastWrite = new Map<string, Map<string, number>>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly pollIntervalMs: number;

  constructor(private readonly options: ReplicatorOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    for (const source of options.regions) {
      this.echoes.set(source, new Map());
      this.lastWrite.set(source, new Map());
      for (const target of options.regions) {
        if (source !== target) this.links.push({ source, target, queue: [], lastLagMs: 0, applied: 0 });
      }
    }
  }

  /** Starts replicating. */
  start(): void {
    this.loops = this.options.regions.map((region) => this.loop(region));
  }

  /** Stops and waits for the loops to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** The state of every (source, target) pair. */
  status(): ReplicationLink[] {
    const now = Date.now();
    return this.links.map((link) => ({
      source: link.source,
      target: link.target,
      pending: link.queue.length,
      lagMs: link.queue[0] ? now - link.queue[0].observedAt : link.lastLagMs,
      applied: link.applied,
    }));
  }

  /** Replication lag into `region`: the worst of its incoming links (ms). */
  lagInto(region: string): number {
    return Math.max(
      0,
      ...this.status()
        .filter((l) => l.target === region)
        .map((l) => l.lagMs),
    );
  }

  /** Whether every link has applied everything read so far (tests wait for this). */
  idle(): boolean {
    return this.links.every((link) => link.queue.length === 0);
  }

  /** Takes the records new on `source`'s stream: local writes go to every link out of `source`. */
  private ingest(source: string, records: readonly BufferedRecord[]): void {
    const echoes = this.echoes.get(source) as Map<string, { image: string; at: number }[]>;
    const lastWrite = this.lastWrite.get(source) as Map<string, number>;
    const now = Date.now();
    for (const entry of records) {
      const key = keyOf(entry.record);
      const image = imageOf(entry.record);
      const waiting = echoes.get(key);
      const match = waiting?.findIndex((e) => e.image === image) ?? -1;
      if (waiting && match >= 0) {
        // The stream record of a write the replicator applied here: already everywhere it goes.
        waiting.splice(match, 1);
        if (waiting.length === 0) echoes.delete(key);
        continue;
      }
      if (waiting) {
        const fresh = waiting.filter((e) => now - e.at < ECHO_MEMORY_MS);
        if (fresh.length === 0) echoes.delete(key);
        else echoes.set(key, fresh);
      }
      lastWrite.set(key, Math.max(lastWrite.get(key) ?? 0, entry.observedAt));
      for (const link of this.links) if (link.source === source) link.queue.push(entry);
    }
  }

  private async apply(link: Link, entry: BufferedRecord): Promise<void> {
    const { record } = entry;
    const key = keyOf(record);
    const targetWrites = this.lastWrite.get(link.target) as Map<string, number>;
    // Last writer wins: a newer write to the item in the target region beats this one.
    if ((targetWrites.get(key) ?? 0) > entry.observedAt) return;
    const client = this.options.clients[link.target];
    if (!client) throw new Error(`no DynamoDB client for ${link.target}`);
    const echoes = this.echoes.get(link.target) as Map<string, { image: string; at: number }[]>;
    echoes.set(key, [...(echoes.get(key) ?? []), { image: imageOf(record), at: Date.now() }]);
    if (record.eventName === 'REMOVE') {
      await client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: record.dynamodb?.Keys as Record<string, AttributeValue>,
        }),
      );
    } else {
      await client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: record.dynamodb?.NewImage as Record<string, AttributeValue>,
        }),
      );
    }
    targetWrites.set(key, Math.max(targetWrites.get(key) ?? 0, entry.observedAt));
  }

  private async loop(source: string): Promise<void> {
    const reader = this.options.readers[source];
    if (!reader) throw new Error(`no stream reader for ${source}`);
    while (!this.stopped) {
      try {
        await reader.poll();
        if (reader.pending.length > 0) {
          this.ingest(source, reader.pending);
          reader.commit(reader.pending.length);
        }
        for (const link of this.links) {
          if (link.source !== source) continue;
          // An outage on either side (or an injected pause) holds the link; its queue keeps
          // everything for the catch-up. An injected delay holds each write until it is old enough.
          const delayMs = this.options.delayMs?.(link.source, link.target) ?? 0;
          while (
            link.queue[0] &&
            !this.options.isDown(link.source) &&
            !this.options.isDown(link.target) &&
            !(this.options.paused?.() ?? false) &&
            Date.now() - link.queue[0].observedAt >= delayMs &&
            !this.stopped
          ) {
            const entry = link.queue[0];
            await this.apply(link, entry);
            link.queue.shift();
            link.applied++;
            link.lastLagMs = Date.now() - entry.observedAt;
          }
        }
      } catch (error) {
        if (this.stopped) return;
        this.options.log(`[replication ${source}] ${error instanceof Error ? error.message : String(error)}`);
        await sleep(this.pollIntervalMs * 5);
      }
      await sleep(this.pollIntervalMs);
    }
  }
}
