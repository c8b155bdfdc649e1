/**
 * The web page's view of the local stack's extensions (`/_local/...`, PROTOCOL.md "Local stack"):
 * sign-in tokens and the regions list, turned into the SDK's endpoints. Parsed defensively: the page
 * must still work (with one endpoint, its own origin) when served by something else.
 *
 * @example
 * ```ts
 * const { regions, endpoints, token } = await signIn('alice', window.location);
 * const client = new ParleyClient({ endpoints, token });
 * ```
 */
import type { EndpointConfig, TokenSource } from '../client/index.js';
import type { RegionStatus, RegionsDocument } from '../local/regions-document.js';

/**
 * One region as the page reads it from a {@link RegionsDocument}: the fields it uses, with the
 * document's names and meaning. `state` and `healthCheck` are kept as the strings sent (`state` is
 * `unknown` when absent), so that the page shows what another version of the stack reports.
 */
export interface RegionView extends Pick<RegionStatus, 'name' | 'endpoint' | 'primary'> {
  state: string;
  healthCheck: string | undefined;
}

/** The page's reading of a {@link RegionsDocument}: what it uses, each field absent when not sent. */
export interface RegionsView {
  globalEndpoint: RegionsDocument['globalEndpoint'] | undefined;
  routedTo: RegionsDocument['routedTo'] | undefined;
  regions: RegionView[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Reads a regions document, keeping only well-formed regions. */
export const parseRegionsDocument = (value: unknown): RegionsView => {
  const doc = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const list = Array.isArray(doc.regions) ? doc.regions : [];
  const regions: RegionView[] = [];
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
  doc: RegionsView | undefined,
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
export const fetchRegions = async (): Promise<RegionsView | undefined> => {
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

/** Tokens from the local stack last a day; fetch a new one for connections after an hour. */
const TOKEN_REFRESH_MS = 3_600_000;

/**
 * The SDK's token source for `user`: `token` at first, and a new one from the local stack for the
 * first connection attempt after an hour.
 */
export const refreshingToken = (user: string, token: string): TokenSource => {
  let cached = { token, at: Date.now() };
  return async () => {
    if (Date.now() - cached.at > TOKEN_REFRESH_MS) cached = { token: await fetchToken(user), at: Date.now() };
    return cached.token;
  };
};

/** What signing in gives the page: the regions (if the stack says), the SDK's endpoints and token. */
export interface SignIn {
  regions: RegionsView | undefined;
  endpoints: EndpointConfig[];
  token: TokenSource;
}

/**
 * Signs `user` in on the page's server: a token and the regions, fetched together, turned into the
 * SDK's endpoints (`?region=` of the page's address puts that region first). Throws when no token
 * is given.
 */
export const signIn = async (
  user: string,
  location: { protocol: string; host: string; search: string },
): Promise<SignIn> => {
  const [token, regions] = await Promise.all([fetchToken(user), fetchRegions()]);
  const endpoints = endpointsFromRegions(
    regions,
    pageWebSocketUrl(location),
    preferredRegionOf(location.search),
  );
  return { regions, endpoints, token: refreshingToken(user, token) };
};
