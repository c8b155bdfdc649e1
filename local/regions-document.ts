/**
 * The document `GET /_local/regions` answers (a local-stack extension, `local/README.md`): the
 * regions, their state and which one the global endpoint routes to. The local stack's global
 * endpoint produces it and the web page reads it; both take its shape from here. Types only, so
 * the page's browser bundle pulls in nothing from the local stack.
 *
 * @example
 * ```ts
 * const doc = (await (await fetch('http://127.0.0.1:4510/_local/regions')).json()) as RegionsDocument;
 * doc.regions.filter((region) => region.state === 'outage').map((region) => region.name);
 * ```
 */

/** One region, as `GET /_local/regions` lists it (and `POST`/`DELETE .../outage` answers it). */
export interface RegionStatus {
  name: string;
  /** Whether this is the primary region: the first configured, where failover routing sends traffic. */
  primary: boolean;
  /** The region's own WebSocket endpoint, e.g. `ws://127.0.0.1:4511/`. */
  endpoint: string;
  /** The region's health URL, what the global endpoint's health check polls. */
  health: string;
  /** `outage` while a simulated outage is on. */
  state: 'healthy' | 'outage';
  /** What the global endpoint's health check currently believes (it lags `state` by its threshold). */
  healthCheck: 'healthy' | 'unhealthy';
  /** How far replication into this region lags, in milliseconds. */
  replicationLagMs: number;
}

/** The whole document. */
export interface RegionsDocument {
  /** The global endpoint's routing policy. */
  routing: 'failover' | 'latency';
  /** The primary region's name. */
  primary: string | undefined;
  /** The global endpoint's WebSocket URL, e.g. `ws://127.0.0.1:4510/`. */
  globalEndpoint: string;
  /** The region the global endpoint routes new connections to now. */
  routedTo: string;
  /** Every region, the primary first. */
  regions: RegionStatus[];
}
