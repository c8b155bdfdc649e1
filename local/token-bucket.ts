/**
 * Stage and route throttling as API Gateway applies it: a token bucket per route, with the route's
 * own rate and burst where the stage sets them, else the stage's defaults. Account-level throttling
 * is not played (see local/README.md, "Differences from AWS worth knowing").
 */
import type { ApiModel, ThrottleModel } from './template.js';

/** A token bucket: `burst` tokens at most, refilled at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token if there is one; false when the bucket is empty (the request is throttled). */
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A stage's throttling: one bucket per route key, made on the route's first request. */
export class StageThrottle {
  /** `null`: the route is not throttled (neither it nor the stage sets a limit). */
  private readonly buckets = new Map<string, TokenBucket | null>();

  constructor(private readonly api: Pick<ApiModel, 'defaultThrottle' | 'routeThrottles'>) {}

  /** Whether a request to `routeKey` may pass now (it takes a token if the route is throttled). */
  admits(routeKey: string): boolean {
    return this.bucketFor(routeKey)?.take() !== false;
  }

  private bucketFor(routeKey: string): TokenBucket | null {
    let bucket = this.buckets.get(routeKey);
    if (bucket === undefined) {
      const route: ThrottleModel | undefined = this.api.routeThrottles[routeKey];
      const rate = route?.rateLimit ?? this.api.defaultThrottle.rateLimit;
      const burst = route?.burstLimit ?? this.api.defaultThrottle.burstLimit;
      bucket =
        rate !== undefined || burst !== undefined
          ? new TokenBucket(rate ?? Number.POSITIVE_INFINITY, Math.max(1, burst ?? rate ?? 1))
          : null;
      this.buckets.set(routeKey, bucket);
    }
    return bucket;
  }
}
