/**
 * The web page's view of the local stack's extensions (`/_local/...`, PROTOCOL.md "Local stack"):
 * sign-in tokens and the regions list, turned into the SDK's endpoints. Parsed defensively: the page
 * must still work (with one endpoint, its own origin) when served by something else.
 */
import type { EndpointConfig } from '../client/index.js';

/** One region as `GET /_local/regions` reports it. */
export interface RegionInfo {
  name: string;
  /** The region's WebSocket endpoint. */
  endpoint: string;
  primary: boolean;
  /** `healthy` or `outage` (a simulated outage). */
  state: string;
  /** What the global endpoint's health check currently believes. */
  healthCheck: string | undefined;
}

/** The regions document. */
export interface RegionsDocument {
  globalEndpoint: string | undefined;
  /** The region the global endpoint routes new connections to. */
  routedTo: string | undefined;
  regions: RegionInfo[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Reads a regions document, keeping only well-formed regions. */
export const parseRegionsDocument = (value: unknown): RegionsDocument => {
  const doc = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const list = Array.isArray(doc.regions) ? doc.regions : [];
  const regions: RegionInfo[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const record = item as Record<string, unknown>;
    const name = text(record.name);
    const endpoint = text(record.endpoint);
    if (name === undefined || endpoint === undefined) continue;
    regions.push({
      name,
      endpoint,
      primary: record.primary === true,
      state: text(record.state) ?? 'unknown',
      healthCheck: text(record.healthCheck),
    });
  }
  return { globalEndpoint: text(doc.globalEndpoint), routedTo: text(doc.routedTo), regions };
};

/**
 * The SDK's endpoints: the global one first (it routes to a healthy region), then each region's
 * own endpoint, in the stack's order, for client-side failover. `fallback` (the page's own origin)
 * stands in for the global endpoint when the document has none. With `preferredRegion` (the
 * page's `?region=` parameter) that region's own endpoint comes first, so a page can be pinned to
 * a region, as a client near it would be by latency routing; an unknown name is ignored.
 */
export const endpointsFromRegions = (
  doc: RegionsDocument | undefined,
  fallback: string,
  preferredRegion?: string,
): EndpointConfig[] => {
  const endpoints: EndpointConfig[] = [{ url: doc?.globalEndpoint ?? fallback }];
  for (const region of doc?.regions ?? []) {
    if (!endpoints.some((e) => e.url === region.endpoint))
      endpoints.push({ url: region.endpoint, region: region.name });
  }
  const preferred = endpoints.findIndex((e) => e.region !== undefined && e.region === preferredRegion);
  if (preferred > 0) endpoints.unshift(...endpoints.splice(preferred, 1));
  return endpoints;
};

/** The page's `?region=` parameter, if any. */
export const preferredRegionOf = (search: string): string | undefined =>
  new URLSearchParams(search).get('region') ?? undefined;

/** The WebSocket URL of the server that served the page (the local stack's global endpoint). */
export const pageWebSocketUrl = (location: { protocol: string; host: string }): string =>
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

/** `GET /_local/regions`, or undefined when it is not available. */
export const fetchRegions = async (): Promise<RegionsDocument | undefined> => {
  try {
    const response = await fetch('/_local/regions', { cache: 'no-store' });
    if (!response.ok) return undefined;
    return parseRegionsDocument(await response.json());
  } catch {
    return undefined;
  }
};

/** `GET /_local/token?user=`: a token the local stack accepts for `user`. */
export const fetchToken = async (user: string): Promise<string> => {
  const response = await fetch(`/_local/token?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
  const body = (await response.json().catch(() => ({}))) as { token?: unknown; message?: unknown };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(
      typeof body.message === 'string' ? body.message : `sign-in failed (HTTP ${response.status})`,
    );
  }
  return body.token;
};
