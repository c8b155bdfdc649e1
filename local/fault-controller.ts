/**
 * The local stack's fault switchboard: the parts ask it whether to fail a call, and tests and the
 * `/_local/faults` API set it. The faults are real failures of real calls, never flags inside the
 * handlers: DynamoDB errors and throttling come from the DynamoDB proxy (`dynamodb-proxy.ts`);
 * `@connections` 429s and 410s from the local API Gateway; handler crashes from the local Lambda
 * service; replication lag and pauses from the replicator; connection drops from the gateways
 * closing sockets without a close frame.
 */
import { z } from 'zod';

const rate = z.number().min(0).max(1);
const regionList = z.array(z.string().min(1)).min(1).optional();

/** DynamoDB faults: a fraction of the handlers' data-plane calls fail before reaching the table. */
export const dynamoDbFaultSchema = z
  .object({
    /** Fraction answered `400 ProvisionedThroughputExceededException`. */
    throttle: rate.default(0),
    /** Fraction answered `500 InternalServerError`. */
    error: rate.default(0),
    /** Only these regions' handlers (default: every region). */
    regions: regionList,
  })
  .strict();

/** `@connections` faults: a fraction of `POST /@connections/{id}` answered 429, or 410 after a drop. */
export const connectionsFaultSchema = z
  .object({
    /** Fraction answered `429 LimitExceededException`. */
    throttle: rate.default(0),
    /**
     * Fraction answered `410 GoneException`. The connection is dropped first, so the 410 is true
     * (API Gateway only says 410 for a connection that is gone).
     */
    gone: rate.default(0),
    regions: regionList,
  })
  .strict();

/** Handler crashes: a fraction of invocations fail as if the function crashed. */
export const crashFaultSchema = z
  .object({
    rate: rate.default(0),
    /** Only these handlers (default: every handler except `health`, `authorizer` and `redrive`). */
    handlers: z.array(z.string().min(1)).min(1).optional(),
    regions: regionList,
    /**
     * `before`: the handler never runs; `after`: it runs to completion and its result is lost
     * (the caller sees a failure for work that was done); `either`: half and half.
     */
    phase: z.enum(['before', 'after', 'either']).default('either'),
  })
  .strict();

/** Replication faults. */
export const replicationFaultSchema = z
  .object({
    /** Extra delay of every (source, target) link (ms). */
    lagMs: z.number().int().min(0).max(600_000).default(0),
    /** Per-link delay (ms), keyed `"<source>><target>"`, e.g. `"us-east-1>eu-west-1"`. */
    links: z.record(z.string().regex(/^[^>]+>[^>]+$/), z.number().int().min(0).max(600_000)).default({}),
    /** Hold every link (writes queue up and are applied, in order, when the pause ends). */
    paused: z.boolean().default(false),
  })
  .strict();

/** The standing faults of a stack (`GET /_local/faults`). */
export const faultSettingsSchema = z
  .object({
    dynamodb: dynamoDbFaultSchema.optional(),
    connections: connectionsFaultSchema.optional(),
    crash: crashFaultSchema.optional(),
    replication: replicationFaultSchema.optional(),
  })
  .strict();

/** A one-shot drop of connections. */
export const dropRequestSchema = z
  .object({
    /** The region whose connections to drop (default: every region). */
    region: z.string().min(1).optional(),
    /** Fraction of the open connections to drop. */
    fraction: rate.optional(),
    /** Number of connections to drop (at random). */
    count: z.number().int().min(0).optional(),
  })
  .strict();

/** The body of `POST /_local/faults`: standing faults to set (merged by kind) and an optional drop. */
export const faultRequestSchema = faultSettingsSchema.extend({ drop: dropRequestSchema.optional() }).strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;
export type FaultRequest = z.input<typeof faultRequestSchema>;
export type DropRequest = z.infer<typeof dropRequestSchema>;

/** Handlers a default crash fault leaves alone: the health check and the operator's tools. */
const CRASH_EXEMPT = new Set(['health', 'authorizer', 'redrive']);

/** Counts of the faults injected so far, by kind. */
export interface FaultCounts {
  dynamodbThrottles: number;
  dynamodbErrors: number;
  connectionsThrottles: number;
  connectionsGone: number;
  crashes: number;
  drops: number;
}

/**
 * The stack's fault switchboard: the parts ask it whether to fail a call; tests and the
 * `/_local/faults` API set it.
 */
export class FaultController {
  private settings: FaultSettings = {};
  readonly counts: FaultCounts = {
    dynamodbThrottles: 0,
    dynamodbErrors: 0,
    connectionsThrottles: 0,
    connectionsGone: 0,
    crashes: 0,
    drops: 0,
  };

  constructor(private readonly random: () => number = Math.random) {}

  /** The standing faults. */
  current(): FaultSettings {
    return structuredClone(this.settings);
  }

  /** Sets the kinds present in `request` (each replaces that kind), leaving the others. */
  set(request: z.input<typeof faultSettingsSchema>): void {
    const parsed = faultSettingsSchema.parse(request);
    this.settings = { ...this.settings, ...parsed };
  }

  /** Removes every standing fault. */
  clear(): void {
    this.settings = {};
  }

  private roll(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  private applies(regions: string[] | undefined, region: string): boolean {
    return regions === undefined || regions.includes(region);
  }

  /**
   * The first of `kinds` whose rate fires for a call in `region`, counted; rolled in the order
   * given, so a throttle is answered before an error or a gone.
   */
  private first<K extends string>(
    fault: ({ regions?: string[] | undefined } & Record<K, number>) | undefined,
    region: string,
    kinds: readonly (readonly [kind: K, counter: keyof FaultCounts])[],
  ): K | undefined {
    if (!fault || !this.applies(fault.regions, region)) return undefined;
    for (const [kind, counter] of kinds) {
      if (this.roll(fault[kind])) {
        this.counts[counter]++;
        return kind;
      }
    }
    return undefined;
  }

  /** For one DynamoDB call of `region`'s handlers: the fault to answer with, if any. */
  dynamoDb(region: string): 'throttle' | 'error' | undefined {
    return this.first(this.settings.dynamodb, region, [
      ['throttle', 'dynamodbThrottles'],
      ['error', 'dynamodbErrors'],
    ]);
  }

  /** For one `@connections` post in `region`: the fault to answer with, if any. */
  connections(region: string): 'throttle' | 'gone' | undefined {
    return this.first(this.settings.connections, region, [
      ['throttle', 'connectionsThrottles'],
      ['gone', 'connectionsGone'],
    ]);
  }

  /** For one invocation of `handler` in `region`: whether it crashes, and when. */
  crash(region: string, handler: string): 'before' | 'after' | undefined {
    const fault = this.settings.crash;
    if (!fault || !this.applies(fault.regions, region)) return undefined;
    const targeted = fault.handlers ? fault.handlers.includes(handler) : !CRASH_EXEMPT.has(handler);
    if (!targeted || !this.roll(fault.rate)) return undefined;
    this.counts.crashes++;
    if (fault.phase === 'either') return this.random() < 0.5 ? 'before' : 'after';
    return fault.phase;
  }

  /** The injected delay of a replication link (ms). */
  replicationDelayMs(source: string, target: string): number {
    const fault = this.settings.replication;
    if (!fault) return 0;
    return fault.links[`${source}>${target}`] ?? fault.lagMs;
  }

  /** Whether replication is paused. */
  replicationPaused(): boolean {
    return this.settings.replication?.paused ?? false;
  }

  /** Picks which of `n` items to drop for a drop request (indexes). */
  pick(n: number, drop: Pick<DropRequest, 'fraction' | 'count'>): number[] {
    const indexes = [...Array(n).keys()];
    for (let i = indexes.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
    }
    const wanted =
      drop.count !== undefined
        ? drop.count
        : Math.round(n * (drop.fraction !== undefined ? drop.fraction : 1));
    const chosen = indexes.slice(0, Math.min(n, wanted));
    this.counts.drops += chosen.length;
    return chosen;
  }
}
