/**
 * The document of `GET /_local/regions` (a local-stack extension, `docs/protocol.md`, "Local
 * stack"): what the global endpoint (`global-endpoint.ts`) answers, and what the web page reads.
 * Types only, so that the page can import them without pulling in the server.
 */

/** One region as `GET /_local/regions` reports it. */
export interface RegionInfo {
  name: string;
  /** Whether this is the primary region (the first of the app's regions). */
  primary: boolean;
  /** The region's WebSocket endpoint, `ws://127.0.0.1:<port>/`. */
  endpoint: string;
  /** The region's health check, `http://127.0.0.1:<port>/health`. */
  health: string;
  /** `outage` during a simulated outage, else `healthy`. */
  state: 'healthy' | 'outage';
  /** What the global endpoint's health check currently believes. */
  healthCheck: 'healthy' | 'unhealthy';
  /** Replication lag into the region (ms). */
  replicationLagMs: number;
}

/** The regions document. */
export interface RegionsDocument {
  /** The Route 53 routing the global endpoint plays. */
  routing: 'failover' | 'latency';
  /** The primary region's name. */
  primary: string;
  /** The global endpoint, `ws://127.0.0.1:<port>/`. */
  globalEndpoint: string;
  /** The region the global endpoint routes new connections to. */
  routedTo: string;
  /** Every region, in the app's order. */
  regions: RegionInfo[];
}
