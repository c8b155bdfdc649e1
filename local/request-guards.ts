/**
 * What keeps other web pages out of the local stack. Its servers listen on 127.0.0.1 only, but the
 * user's browser is on 127.0.0.1 too, and runs whatever page it has open: a page of another site
 * can open a WebSocket to any address (browsers send its `Origin` and let the server decide), post
 * a form to any address (no CORS preflight for a form), and, by DNS rebinding, make its own host
 * name resolve to 127.0.0.1 and read the answers. So:
 *
 * - a WebSocket handshake that carries an `Origin` must come from the stack's own page
 *   (`http://127.0.0.1:<global port>`, `http://localhost:<global port>`) or an origin the developer
 *   allowed (`--allow-origin`); one with no `Origin` is not from a browser and is let through, as
 *   API Gateway lets every handshake through (it checks no `Origin` at all);
 * - a `/_local` request must name a loopback address in its `Host` (a rebound name does not);
 * - a `/_local` request that changes state (any method but GET and HEAD) must be sent with
 *   `Content-Type: application/json`, which no form can send and which a page of another origin can
 *   send only after a CORS preflight that the stack never answers.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The origins the stack's own page is served from, for a global endpoint on `port`. */
export const pageOrigins = (port: number): string[] => [
  `http://127.0.0.1:${port}`,
  `http://localhost:${port}`,
];

/**
 * An origin as a browser sends it (`scheme://host[:port]`, lower case, no default port), from an
 * origin the developer typed (`http://localhost:3000`, a trailing `/` allowed). Throws for anything
 * else: a path, a query, a wildcard, `null`, or a scheme other than http and https.
 */
export const normalizeOrigin = (value: string): string => {
  const refuse = (why: string): never => {
    throw new Error(
      `an allowed origin is scheme://host[:port], e.g. http://localhost:3000; "${value}" ${why}`,
    );
  };
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return refuse('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('is not http or https');
  if (url.username !== '' || url.password !== '') return refuse('has credentials');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    return refuse('has a path, a query or a fragment');
  return url.origin;
};

/**
 * The origins `npm start` allows besides the page's, normalized: the `--allow-origin` flags if any
 * were given, else `PARLEY_ALLOW_ORIGINS` (comma-separated), as a flag wins over the environment
 * for every other setting. Throws for a malformed one.
 */
export const allowedOriginsFrom = (flags: readonly string[] | undefined, env: string | undefined): string[] =>
  (flags ?? (env ?? '').split(',').filter((origin) => origin.trim() !== '')).map(normalizeOrigin);

/** Which browser origins may open a WebSocket to the stack. */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  /** @param origins already normalized (see {@link normalizeOrigin}); the page's own among them. */
  constructor(origins: Iterable<string>) {
    this.allowed = new Set(origins);
  }

  /** The allowed origins, in the order given. */
  get origins(): string[] {
    return [...this.allowed];
  }

  /**
   * Why a handshake with this `Origin` header is refused, or undefined if it may proceed: no
   * `Origin` (a client that is not a browser) or an allowed one.
   */
  refusal(origin: string | string[] | undefined): string | undefined {
    if (origin === undefined) return undefined;
    // A repeated header is no browser's; Node hands it over as one value joined with ", ".
    const value = Array.isArray(origin) ? origin.join(', ') : origin;
    if (this.allowed.has(value)) return undefined;
    return `Origin ${JSON.stringify(value)} may not open a WebSocket to the local stack; allow a front end of your own with --allow-origin <origin> (PARLEY_ALLOW_ORIGINS)`;
  }
}

/**
 * Whether a `Host` header names a loopback address: `127.x.x.x`, `localhost` or `[::1]`, with or
 * without a port.
 */
export const isLoopbackHost = (host: string | undefined): boolean => {
  if (host === undefined) return false;
  const match = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return false;
  const [, name = '', port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return false;
  const lower = name.toLowerCase();
  if (lower === 'localhost' || lower === '[::1]') return true;
  const octets = lower.split('.');
  return (
    octets.length === 4 &&
    octets[0] === '127' &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
  );
};

/** Whether a `Content-Type` header is JSON's (`application/json`, parameters allowed). */
export const isJsonContentType = (value: string | undefined): boolean =>
  value?.split(';')[0]?.trim().toLowerCase() === 'application/json';

/**
 * Why a `/_local` request is refused (answered 403), or undefined if it may proceed: a `Host` that
 * is not a loopback address, or a state-changing method without `Content-Type: application/json`.
 */
export const localRequestRefusal = (method: string, headers: IncomingHttpHeaders): string | undefined => {
  if (!isLoopbackHost(headers.host))
    return `/_local requests must be sent to a loopback address (Host 127.0.0.1:<port>, localhost:<port> or [::1]:<port>), not ${JSON.stringify(headers.host ?? '')}`;
  if (method !== 'GET' && method !== 'HEAD' && !isJsonContentType(headers['content-type']))
    return `a ${method} to /_local must be sent with Content-Type: application/json (a DELETE too, with no body), so that no web page can send it as a form`;
  return undefined;
};
