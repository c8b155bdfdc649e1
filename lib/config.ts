import { API_GATEWAY_MAX_FRAME_BYTES, DEFAULT_MAX_BODY_BYTES } from '../protocol/index.js';

/**
 * The context keys the app reads, exactly as they are written in `cdk.json` or passed with
 * `-c key=value`. Anything else in the context is ignored.
 */
export const CONFIG_KEYS = [
  'regions',
  'consistency',
  'witnessRegion',
  'routing',
  'domainName',
  'hostedZoneId',
  'hostedZoneName',
  'auth',
  'jwksUrl',
  'jwtIssuer',
  'jwtAudience',
  'maxBodyBytes',
  'messageRetentionDays',
  'throttleRate',
  'throttleBurst',
  'tableName',
  'stageName',
  'deletionProtection',
  'fanoutInlineMax',
  'sendRatePerSecond',
  'sendBurst',
  'maxRoomsPerConnection',
  'maxConnectionsPerUser',
  'presenceTimeoutSeconds',
  'alarmEmail',
  'sendDesign',
  'jwtSecretName',
  'apiGatewayCloudWatchRole',
  'reuseRetained',
] as const;

/** One of {@link CONFIG_KEYS}. */
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/**
 * The regions of each DynamoDB multi-Region strong consistency (MRSC) region set. An MRSC table's
 * replicas and witness must all come from one set (DynamoDB developer guide, "How global tables work").
 */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

/**
 * Bytes kept free in an API Gateway frame (32 KiB) for the `message` frame around a body: the
 * keys, room (128), id (64), user (128), origin, seq and ts. A body above the limit minus this
 * could be accepted yet never be deliverable.
 */
export const MESSAGE_FRAME_OVERHEAD_BYTES = 1_024;

/** The largest `maxBodyBytes` that still fits a whole `message` frame into one API Gateway frame. */
export const MAX_BODY_BYTES_LIMIT = API_GATEWAY_MAX_FRAME_BYTES - MESSAGE_FRAME_OVERHEAD_BYTES;

/** The default name of the HS256 signing secret in Secrets Manager (the same in every region). */
export const JWT_SECRET_NAME = 'parley/jwt-signing-secret';

/** Defaults, as strings where a user would pass a string with `-c`. `cdk.json` repeats them. */
export const CONFIG_DEFAULTS = {
  regions: ['us-east-1', 'eu-west-1'],
  consistency: 'eventual',
  routing: 'failover',
  auth: 'hs256',
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  messageRetentionDays: 30,
  throttleRate: 500,
  throttleBurst: 1_000,
  tableName: 'parley',
  stageName: 'prod',
  deletionProtection: true,
  fanoutInlineMax: 100,
  sendRatePerSecond: 10,
  sendBurst: 20,
  maxRoomsPerConnection: 50,
  maxConnectionsPerUser: 10,
  presenceTimeoutSeconds: 45,
  sendDesign: 'parley',
  jwtSecretName: JWT_SECRET_NAME,
  apiGatewayCloudWatchRole: 'create',
  reuseRetained: false,
} as const;

/** The custom domain: one global hostname in a Route 53 hosted zone. */
export interface DomainConfig {
  /** The global hostname clients connect to, e.g. `chat.example.com`. */
  readonly domainName: string;
  /** The Route 53 hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`. */
  readonly hostedZoneId: string;
  /** The hosted zone's name, e.g. `example.com`; `domainName` is inside it. */
  readonly hostedZoneName: string;
}

/**
 * Who sets the region's API Gateway account setting (the role API Gateway writes logs with). There
 * is one such setting per account and region, shared by every API Gateway API there.
 * - `create`: the stack creates a role and points the setting at it; the role is kept when the
 *   stack is deleted, so the other APIs of the account keep logging.
 * - `existing`: the stack leaves the setting alone (the account already has a role).
 * - `{ roleArn }`: the stack points the setting at this role.
 */
export type ApiGatewayCloudWatchRole = 'create' | 'existing' | { readonly roleArn: string };

/** How the `$connect` authorizer verifies tokens. */
export type AuthConfig =
  | { readonly mode: 'hs256'; readonly secretName: string }
  | {
      readonly mode: 'jwks';
      readonly jwksUrl: string;
      readonly jwtIssuer: string;
      readonly jwtAudience: string;
    };

/** The validated configuration of the whole app. */
export interface ParleyConfig {
  /** Every region with a stack; the first is the primary (it owns the global table). */
  readonly regions: readonly string[];
  /** `regions[0]`. */
  readonly primaryRegion: string;
  /** `eventual` (per-origin sequences) or `strong` (DynamoDB multi-Region strong consistency). */
  readonly consistency: 'eventual' | 'strong';
  /** Strong mode with two regions: the MRSC witness region. */
  readonly witnessRegion?: string;
  /** How the global hostname routes: `failover` (first region primary) or `latency`. */
  readonly routing: 'failover' | 'latency';
  /** The custom domain, when configured. */
  readonly domain?: DomainConfig;
  /** Token verification. */
  readonly auth: AuthConfig;
  /** The largest serialized message body accepted. */
  readonly maxBodyBytes: number;
  /** Days a message (and its idempotency claim) is kept before its TTL expires it. */
  readonly messageRetentionDays: number;
  /** Steady-state requests per second for each route of the WebSocket stage. */
  readonly throttleRate: number;
  /** Burst requests for each route of the WebSocket stage. */
  readonly throttleBurst: number;
  /** The global table's name. */
  readonly tableName: string;
  /** The WebSocket stage's name (the path segment after the host). */
  readonly stageName: string;
  /** DynamoDB deletion protection on every replica. */
  readonly deletionProtection: boolean;
  /** Local members that `send` delivers inline before a room goes through the delivery queue. */
  readonly fanoutInlineMax: number;
  /** Sends per second refilled into each connection's token bucket (`SEND_RATE_PER_SECOND`). */
  readonly sendRatePerSecond: number;
  /** Sends a connection may burst (`SEND_BURST`). */
  readonly sendBurst: number;
  /** Rooms one connection may join (`MAX_ROOMS_PER_CONNECTION`). */
  readonly maxRoomsPerConnection: number;
  /** Open connections per user across all regions (`MAX_CONNECTIONS_PER_USER`). */
  readonly maxConnectionsPerUser: number;
  /**
   * Seconds after its last ping a connection is left out of presence (`PRESENCE_TIMEOUT_SECONDS`;
   * 0 = off: no heartbeat writes, every stored member listed).
   */
  readonly presenceTimeoutSeconds: number;
  /** Where alarm notifications are e-mailed, when set. */
  readonly alarmEmail?: string;
  /** The API Gateway account setting (CloudWatch logging role) of each region. */
  readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole;
  /**
   * Use the table and the signing secret that an earlier deploy kept (they are retained when the
   * stacks are deleted) instead of creating them.
   */
  readonly reuseRetained: boolean;
  /**
   * The handler behind the `send` route: `parley`, or `baseline`, the scan-and-broadcast design
   * of the AWS chat samples that the benchmarks measure Parley against (never for production).
   * Left out when it is the default.
   * @default 'parley'
   */
  readonly sendDesign?: 'parley' | 'baseline';
}

/**
 * A configuration value that the app cannot deploy. The message names the key, the value and what
 * is allowed, so `cdk synth` tells the user exactly what to fix.
 */
export class ConfigError extends Error {
  /** The offending context key. */
  public readonly key: string;

  public constructor(key: string, value: unknown, allowed: string) {
    super(`Invalid context value for "${key}": ${describe(value)}. Allowed: ${allowed}.`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const REGION_PATTERN =
  /^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?$/;
// RFC 1123 labels, at least two, no trailing dot.
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,31}$/;
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// Secrets Manager's own rule for names (CreateSecret, Name).
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const ROLE_ARN_PATTERN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** Reads one raw context value; `undefined` when the key is not set. */
export type ContextReader = (key: ConfigKey) => unknown;

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function optionalString(get: ContextReader, key: ConfigKey, allowed: string): string | undefined {
  const value = get(key);
  if (isUnset(value)) return undefined;
  if (typeof value !== 'string') throw new ConfigError(key, value, allowed);
  return value.trim();
}

function parseRegions(value: unknown): string[] {
  const allowed =
    'a JSON array or a comma-separated list of at least two distinct AWS region names, e.g. "us-east-1,eu-west-1"';
  let list: unknown = value;
  if (isUnset(value)) return [...CONFIG_DEFAULTS.regions];
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text);
      } catch {
        throw new ConfigError('regions', value, allowed);
      }
    } else {
      list = text.split(',').map((part) => part.trim());
    }
  }
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new ConfigError('regions', value, allowed);
  }
  const regions = list.map((item: string) => item.trim());
  for (const region of regions) {
    if (!REGION_PATTERN.test(region)) {
      throw new ConfigError('regions', value, `${allowed} ("${region}" is not a region name)`);
    }
  }
  const duplicate = regions.find((region, index) => regions.indexOf(region) !== index);
  if (duplicate !== undefined) {
    throw new ConfigError('regions', value, `${allowed} ("${duplicate}" appears twice)`);
  }
  if (regions.length < 2) throw new ConfigError('regions', value, allowed);
  return regions;
}

function parseEnum<T extends string>(
  get: ContextReader,
  key: ConfigKey,
  options: readonly T[],
  fallback: T,
): T {
  const value = get(key);
  if (isUnset(value)) return fallback;
  const text = typeof value === 'string' ? value.trim() : value;
  if (typeof text !== 'string' || !(options as readonly string[]).includes(text)) {
    throw new ConfigError(key, value, options.map((option) => `"${option}"`).join(' or '));
  }
  return text as T;
}

function parseNumber(
  get: ContextReader,
  key: ConfigKey,
  fallback: number,
  rule: { min: number; max: number; integer: boolean },
): number {
  const value = get(key);
  if (isUnset(value)) return fallback;
  const allowed = `${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}`;
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(number) || number < rule.min || number > rule.max) {
    throw new ConfigError(key, value, allowed);
  }
  if (rule.integer && !Number.isInteger(number)) throw new ConfigError(key, value, allowed);
  return number;
}

function parseBoolean(get: ContextReader, key: ConfigKey, fallback: boolean): boolean {
  const value = get(key);
  if (isUnset(value)) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(key, value, 'true or false');
}

function parseStrong(regions: readonly string[], witnessRegion: string | undefined): void {
  const set = Object.entries(MRSC_REGION_SETS).find(([, members]) => members.includes(regions[0] ?? ''));
  const sets = Object.entries(MRSC_REGION_SETS)
    .map(([name, members]) => `${name}: ${members.join(', ')}`)
    .join('; ');
  const allowed = `with consistency "strong", exactly three regions of one multi-Region strong consistency region set, or two plus "witnessRegion" (${sets})`;
  if (set === undefined) throw new ConfigError('regions', regions.join(','), allowed);
  const [, members] = set;
  for (const region of regions) {
    if (!members.includes(region)) throw new ConfigError('regions', regions.join(','), allowed);
  }
  if (witnessRegion === undefined) {
    if (regions.length !== 3) throw new ConfigError('regions', regions.join(','), allowed);
    return;
  }
  if (regions.length !== 2) throw new ConfigError('regions', regions.join(','), allowed);
  if (!members.includes(witnessRegion) || regions.includes(witnessRegion)) {
    throw new ConfigError(
      'witnessRegion',
      witnessRegion,
      `a region of the same region set as "regions" (${members.join(', ')}) that is not one of the regions`,
    );
  }
}

function parseCloudWatchRole(get: ContextReader): ApiGatewayCloudWatchRole {
  const allowed = '"create", "existing", or the ARN of an IAM role that API Gateway may assume';
  const value =
    optionalString(get, 'apiGatewayCloudWatchRole', allowed) ?? CONFIG_DEFAULTS.apiGatewayCloudWatchRole;
  if (value === 'create' || value === 'existing') return value;
  if (!ROLE_ARN_PATTERN.test(value)) throw new ConfigError('apiGatewayCloudWatchRole', value, allowed);
  return { roleArn: value };
}

function parseDomain(get: ContextReader): DomainConfig | undefined {
  const domainName = optionalString(
    get,
    'domainName',
    'a hostname such as "chat.example.com"',
  )?.toLowerCase();
  const hostedZoneId = optionalString(
    get,
    'hostedZoneId',
    'a Route 53 hosted zone id such as "Z0123456789ABC"',
  );
  const hostedZoneName = optionalString(get, 'hostedZoneName', 'a hosted zone name such as "example.com"')
    ?.toLowerCase()
    .replace(/\.$/, '');
  const given = { domainName, hostedZoneId, hostedZoneName };
  const set = Object.entries(given).filter(([, value]) => value !== undefined);
  if (set.length === 0) return undefined;
  if (set.length !== 3) {
    const missing = Object.entries(given)
      .filter(([, value]) => value === undefined)
      .map(([key]) => key);
    const key = missing[0] as ConfigKey;
    throw new ConfigError(
      key,
      undefined,
      'domainName, hostedZoneId and hostedZoneName are set together, or none',
    );
  }
  if (domainName === undefined || !HOSTNAME_PATTERN.test(domainName)) {
    throw new ConfigError('domainName', domainName, 'a lower-case hostname such as "chat.example.com"');
  }
  if (hostedZoneId === undefined || !HOSTED_ZONE_ID_PATTERN.test(hostedZoneId)) {
    throw new ConfigError('hostedZoneId', hostedZoneId, 'a Route 53 hosted zone id such as "Z0123456789ABC"');
  }
  if (hostedZoneName === undefined || !HOSTNAME_PATTERN.test(hostedZoneName)) {
    throw new ConfigError('hostedZoneName', hostedZoneName, 'a zone name such as "example.com"');
  }
  if (!domainName.endsWith(`.${hostedZoneName}`)) {
    // The global name must be a subdomain (not the apex) so that each region also gets its own
    // `<region>.<domainName>` name in the same zone.
    throw new ConfigError(
      'hostedZoneName',
      hostedZoneName,
      `the zone that contains domainName "${domainName}" (domainName must be a subdomain of it)`,
    );
  }
  return { domainName, hostedZoneId, hostedZoneName };
}

function parseAuth(get: ContextReader): AuthConfig {
  const mode = parseEnum(get, 'auth', ['hs256', 'jwks'] as const, CONFIG_DEFAULTS.auth);
  if (mode === 'hs256') {
    const secretName =
      optionalString(get, 'jwtSecretName', 'a Secrets Manager secret name') ?? CONFIG_DEFAULTS.jwtSecretName;
    if (!SECRET_NAME_PATTERN.test(secretName)) {
      throw new ConfigError(
        'jwtSecretName',
        secretName,
        'a Secrets Manager secret name: 1 to 512 of A-Z a-z 0-9 / _ + = . @ -',
      );
    }
    return { mode, secretName };
  }
  const jwksUrl = optionalString(get, 'jwksUrl', 'an https:// URL of a JWKS document');
  let url: URL | undefined;
  try {
    url = jwksUrl === undefined ? undefined : new URL(jwksUrl);
  } catch {
    url = undefined;
  }
  if (jwksUrl === undefined || url?.protocol !== 'https:') {
    throw new ConfigError('jwksUrl', jwksUrl, 'with auth "jwks", an https:// URL of a JWKS document');
  }
  const jwtIssuer = optionalString(get, 'jwtIssuer', 'the expected "iss" claim');
  if (jwtIssuer === undefined) {
    throw new ConfigError('jwtIssuer', jwtIssuer, 'with auth "jwks", the expected "iss" claim');
  }
  const jwtAudience = optionalString(get, 'jwtAudience', 'the expected "aud" claim');
  if (jwtAudience === undefined) {
    throw new ConfigError('jwtAudience', jwtAudience, 'with auth "jwks", the expected "aud" claim');
  }
  return { mode, jwksUrl, jwtIssuer, jwtAudience };
}

/**
 * Every region the app deploys into and so needs a CDK bootstrap in: the regions with a stack,
 * then, in strong mode with two regions, the witness region, which holds the table's witness.
 */
export function deployRegions(config: Pick<ParleyConfig, 'regions' | 'witnessRegion'>): string[] {
  return [
    ...new Set([...config.regions, ...(config.witnessRegion === undefined ? [] : [config.witnessRegion])]),
  ];
}

/**
 * Parses and validates the app's configuration from the CDK context. Context values arrive as JSON
 * from `cdk.json` or as strings from `-c key=value`; both are accepted.
 *
 * @example
 * ```ts
 * const config = parseConfig((key) => app.node.tryGetContext(key));
 * ```
 * @throws {ConfigError} naming the key, the value and what is allowed, for the first bad value.
 */
export function parseConfig(get: ContextReader): ParleyConfig {
  const regions = parseRegions(get('regions'));
  const consistency = parseEnum(
    get,
    'consistency',
    ['eventual', 'strong'] as const,
    CONFIG_DEFAULTS.consistency,
  );
  const witnessRegion = optionalString(get, 'witnessRegion', 'a region name');
  if (witnessRegion !== undefined && !REGION_PATTERN.test(witnessRegion)) {
    throw new ConfigError('witnessRegion', witnessRegion, 'a region name such as "us-west-2"');
  }
  if (consistency === 'eventual' && witnessRegion !== undefined) {
    throw new ConfigError('witnessRegion', witnessRegion, 'no witness region unless consistency is "strong"');
  }
  if (consistency === 'strong') parseStrong(regions, witnessRegion);
  const routing = parseEnum(get, 'routing', ['failover', 'latency'] as const, CONFIG_DEFAULTS.routing);
  const domain = parseDomain(get);
  const auth = parseAuth(get);
  const maxBodyBytes = parseNumber(get, 'maxBodyBytes', CONFIG_DEFAULTS.maxBodyBytes, {
    min: 1,
    max: MAX_BODY_BYTES_LIMIT,
    integer: true,
  });
  const messageRetentionDays = parseNumber(
    get,
    'messageRetentionDays',
    CONFIG_DEFAULTS.messageRetentionDays,
    {
      min: 1,
      max: 3_650,
      integer: true,
    },
  );
  // API Gateway's account-level default is 10,000 requests per second and a 5,000 burst per region.
  const throttleRate = parseNumber(get, 'throttleRate', CONFIG_DEFAULTS.throttleRate, {
    min: 1,
    max: 10_000,
    integer: false,
  });
  const throttleBurst = parseNumber(get, 'throttleBurst', CONFIG_DEFAULTS.throttleBurst, {
    min: 1,
    max: 5_000,
    integer: true,
  });
  const tableName = optionalString(get, 'tableName', 'a DynamoDB table name') ?? CONFIG_DEFAULTS.tableName;
  if (!TABLE_NAME_PATTERN.test(tableName)) {
    throw new ConfigError('tableName', tableName, 'a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -');
  }
  const stageName = optionalString(get, 'stageName', 'a stage name') ?? CONFIG_DEFAULTS.stageName;
  if (!STAGE_NAME_PATTERN.test(stageName) || stageName === '$default') {
    throw new ConfigError('stageName', stageName, 'a stage name: 1 to 128 of A-Z a-z 0-9 _ -');
  }
  const deletionProtection = parseBoolean(get, 'deletionProtection', CONFIG_DEFAULTS.deletionProtection);
  const fanoutInlineMax = parseNumber(get, 'fanoutInlineMax', CONFIG_DEFAULTS.fanoutInlineMax, {
    min: 0,
    max: 100_000,
    integer: true,
  });
  const limit = (
    key: 'sendRatePerSecond' | 'sendBurst' | 'maxRoomsPerConnection' | 'maxConnectionsPerUser',
    max: number,
  ) => parseNumber(get, key, CONFIG_DEFAULTS[key], { min: 1, max, integer: true });
  const sendRatePerSecond = limit('sendRatePerSecond', 10_000);
  const sendBurst = limit('sendBurst', 100_000);
  const maxRoomsPerConnection = limit('maxRoomsPerConnection', 10_000);
  const maxConnectionsPerUser = limit('maxConnectionsPerUser', 100_000);
  const presenceTimeoutSeconds = parseNumber(
    get,
    'presenceTimeoutSeconds',
    CONFIG_DEFAULTS.presenceTimeoutSeconds,
    { min: 0, max: 86_400, integer: true },
  );
  const alarmEmail = optionalString(get, 'alarmEmail', 'an e-mail address');
  if (alarmEmail !== undefined && !EMAIL_PATTERN.test(alarmEmail)) {
    throw new ConfigError('alarmEmail', alarmEmail, 'an e-mail address such as "ops@example.com"');
  }
  const sendDesign = parseEnum(
    get,
    'sendDesign',
    ['parley', 'baseline'] as const,
    CONFIG_DEFAULTS.sendDesign,
  );
  const apiGatewayCloudWatchRole = parseCloudWatchRole(get);
  const reuseRetained = parseBoolean(get, 'reuseRetained', CONFIG_DEFAULTS.reuseRetained);
  const primaryRegion = regions[0] as string;
  return {
    regions,
    primaryRegion,
    consistency,
    ...(witnessRegion === undefined ? {} : { witnessRegion }),
    routing,
    ...(domain === undefined ? {} : { domain }),
    auth,
    maxBodyBytes,
    messageRetentionDays,
    throttleRate,
    throttleBurst,
    tableName,
    stageName,
    deletionProtection,
    fanoutInlineMax,
    sendRatePerSecond,
    sendBurst,
    maxRoomsPerConnection,
    maxConnectionsPerUser,
    presenceTimeoutSeconds,
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(sendDesign === 'parley' ? {} : { sendDesign }),
    apiGatewayCloudWatchRole,
    reuseRetained,
  };
}
