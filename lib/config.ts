import { groupSize } from './handler-access.js';
import {
  allowedText,
  type EnvScope,
  parseSettingValue,
  SETTING_KEYS,
  SETTINGS,
  type SettingKey,
  type SettingValue,
  settingDefault,
  settingsEnvironment,
} from './settings.js';

export { JWT_SECRET_NAME, MAX_BODY_BYTES_LIMIT, MESSAGE_FRAME_OVERHEAD_BYTES } from './settings.js';

/**
 * The context keys the app reads, exactly as they are written in `cdk.json` or passed with
 * `-c key=value`: the keys of the settings table (`lib/settings.ts`). Anything else in the context
 * is ignored.
 */
export const CONFIG_KEYS = SETTING_KEYS;

/** One of {@link CONFIG_KEYS}. */
export type ConfigKey = SettingKey;

/**
 * The regions of each DynamoDB multi-Region strong consistency (MRSC) region set. An MRSC table's
 * replicas and witness must all come from one set (DynamoDB developer guide, "How global tables work").
 */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

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

/** What every token is checked against, in both modes. */
export interface TokenChecks {
  /** Required `iss`, when set (always with jwks). */
  readonly jwtIssuer?: string;
  /** Required audience, when set (always with jwks). */
  readonly jwtAudience?: string;
  /** The claim that holds the audience. */
  readonly jwtAudienceClaim: string;
  /** The longest token lifetime accepted. */
  readonly maxTokenLifetimeSeconds: number;
}

/** How the `$connect` authorizer verifies tokens. */
export type AuthConfig = TokenChecks &
  (
    | { readonly mode: 'hs256'; readonly secretName: string }
    | {
        readonly mode: 'jwks';
        readonly jwksUrl: string;
        readonly jwtIssuer: string;
        readonly jwtAudience: string;
      }
  );

/** The settings the table parses on their own: every kind but `custom`, but the auth group. */
type PlainKey = Exclude<
  { [K in SettingKey]: (typeof SETTINGS)[K]['kind'] extends 'custom' ? never : K }[SettingKey],
  'auth' | 'jwtSecretName' | 'jwtAudienceClaim' | 'maxTokenLifetimeSeconds' | 'sendDesign'
>;

/** The table-parsed settings of a configuration; one without a default is `undefined` when unset. */
export type PlainSettings = {
  readonly [K in PlainKey]: (typeof SETTINGS)[K] extends { default: unknown }
    ? SettingValue<K>
    : SettingValue<K> | undefined;
};

/**
 * The validated configuration of the whole app: every setting of `lib/settings.ts` (whose table
 * says what each one is), with the ones that go together grouped.
 */
export interface ParleyConfig extends PlainSettings {
  /** Every region with a stack; the first is the primary (it owns the global table). */
  readonly regions: readonly string[];
  /** `regions[0]`. */
  readonly primaryRegion: string;
  /** Strong mode with two regions: the MRSC witness region. */
  readonly witnessRegion?: string;
  /** The custom domain, when configured. */
  readonly domain?: DomainConfig;
  /** Token verification. */
  readonly auth: AuthConfig;
  /** The API Gateway account setting (CloudWatch logging role) of each region. */
  readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole;
  /**
   * `baseline` for the benchmarks' scan-and-broadcast `send`; left out when it is the default,
   * so a normal app's configuration carries no trace of the benchmark switch.
   */
  readonly sendDesign?: 'baseline';
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

/** Reads a table-parsed setting: its default when unset, else its value, or a ConfigError. */
function read<K extends SettingKey>(get: ContextReader, key: K): SettingValue<K> | undefined {
  const value = get(key);
  if (isUnset(value)) return settingDefault(key);
  const parsed = parseSettingValue(key, value);
  if (!parsed.ok) throw new ConfigError(key, value, allowedText(SETTINGS[key]));
  return parsed.value;
}

function parseRegions(value: unknown): string[] {
  const allowed = SETTINGS.regions.allowed;
  let list: unknown = value;
  if (isUnset(value)) return ['us-east-1', 'eu-west-1'];
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
  const allowed = SETTINGS.apiGatewayCloudWatchRole.allowed;
  const value = optionalString(get, 'apiGatewayCloudWatchRole', allowed) ?? 'create';
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
  const mode = read(get, 'auth') as AuthConfig['mode'];
  const jwtIssuer = optionalString(get, 'jwtIssuer', SETTINGS.jwtIssuer.allowed);
  const jwtAudience = optionalString(get, 'jwtAudience', SETTINGS.jwtAudience.allowed);
  const checks = {
    ...(jwtIssuer === undefined ? {} : { jwtIssuer }),
    ...(jwtAudience === undefined ? {} : { jwtAudience }),
    jwtAudienceClaim: read(get, 'jwtAudienceClaim') as string,
    maxTokenLifetimeSeconds: read(get, 'maxTokenLifetimeSeconds') as number,
  };
  if (mode === 'hs256') return { mode, secretName: read(get, 'jwtSecretName') as string, ...checks };
  const jwksUrl = optionalString(get, 'jwksUrl', SETTINGS.jwksUrl.allowed);
  let url: URL | undefined;
  try {
    url = jwksUrl === undefined ? undefined : new URL(jwksUrl);
  } catch {
    url = undefined;
  }
  if (jwksUrl === undefined || url?.protocol !== 'https:') {
    throw new ConfigError('jwksUrl', jwksUrl, SETTINGS.jwksUrl.allowed);
  }
  if (jwtIssuer === undefined)
    throw new ConfigError('jwtIssuer', jwtIssuer, 'with auth "jwks", the expected "iss" claim');
  if (jwtAudience === undefined) {
    throw new ConfigError('jwtAudience', jwtAudience, 'with auth "jwks", the expected "aud" claim');
  }
  return { mode, jwksUrl, ...checks, jwtIssuer, jwtAudience };
}

/** Executions Lambda keeps unreserved in every account and region (Lambda developer guide, reserved concurrency). */
export const UNRESERVED_MINIMUM = 100;

/**
 * The reservations of one region: each function of a concurrency group reserves its group's
 * setting. Lambda refuses a reservation that leaves fewer than 100 executions unreserved, which
 * would fail the deploy halfway: refused here, at synth, with the sum.
 */
function checkReservations(plain: PlainSettings): void {
  const reserved =
    groupSize('connect') * plain.reservedConcurrencyConnect +
    groupSize('route') * plain.reservedConcurrencyRoutes;
  const available = plain.lambdaConcurrencyQuota - UNRESERVED_MINIMUM;
  if (reserved > available) {
    const key =
      plain.reservedConcurrencyRoutes > 0 ? 'reservedConcurrencyRoutes' : 'reservedConcurrencyConnect';
    throw new ConfigError(
      key,
      plain[key],
      `reservations that leave ${UNRESERVED_MINIMUM} of lambdaConcurrencyQuota (${plain.lambdaConcurrencyQuota}) unreserved: ${groupSize('connect')} × reservedConcurrencyConnect + ${groupSize('route')} × reservedConcurrencyRoutes = ${reserved}, over ${available}`,
    );
  }
}

const PLAIN_KEYS = SETTING_KEYS.filter(
  (key): key is PlainKey =>
    SETTINGS[key].kind !== 'custom' &&
    !['auth', 'jwtSecretName', 'jwtAudienceClaim', 'maxTokenLifetimeSeconds', 'sendDesign'].includes(key),
);

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
  const plain = Object.fromEntries(
    PLAIN_KEYS.map((key) => [key, read(get, key)]),
  ) as unknown as PlainSettings;
  const witnessRegion = optionalString(get, 'witnessRegion', 'a region name');
  if (witnessRegion !== undefined && !REGION_PATTERN.test(witnessRegion)) {
    throw new ConfigError('witnessRegion', witnessRegion, 'a region name such as "us-west-2"');
  }
  if (plain.consistency === 'eventual' && witnessRegion !== undefined) {
    throw new ConfigError('witnessRegion', witnessRegion, 'no witness region unless consistency is "strong"');
  }
  if (plain.consistency === 'strong') parseStrong(regions, witnessRegion);
  checkReservations(plain);
  const domain = parseDomain(get);
  const auth = parseAuth(get);
  return {
    ...plain,
    regions,
    primaryRegion: regions[0] as string,
    ...(witnessRegion === undefined ? {} : { witnessRegion }),
    ...(domain === undefined ? {} : { domain }),
    auth,
    apiGatewayCloudWatchRole: parseCloudWatchRole(get),
    ...(read(get, 'sendDesign') === 'baseline' ? { sendDesign: 'baseline' as const } : {}),
  };
}

/**
 * The environment variables the functions of `scope` get from a configuration: each setting the
 * table binds to a variable, with its value (the auth group's from `auth`).
 *
 * @example
 * ```ts
 * const common = environmentOf(config, 'all'); // { CONSISTENCY: 'eventual', MAX_BODY_BYTES: '16384', ... }
 * ```
 */
export function environmentOf(config: ParleyConfig, scope: EnvScope): Record<string, string> {
  const auth = config.auth;
  return settingsEnvironment(scope, (key) => {
    switch (key) {
      case 'auth':
        return auth.mode;
      case 'jwtSecretName':
        return auth.mode === 'hs256' ? auth.secretName : undefined;
      case 'jwksUrl':
        return auth.mode === 'jwks' ? auth.jwksUrl : undefined;
      case 'jwtIssuer':
        return auth.jwtIssuer;
      case 'jwtAudience':
        return auth.jwtAudience;
      case 'jwtAudienceClaim':
        return auth.jwtAudienceClaim;
      case 'maxTokenLifetimeSeconds':
        return auth.maxTokenLifetimeSeconds;
      default: {
        const value: unknown = (config as unknown as Record<string, unknown>)[key];
        return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? value
          : undefined;
      }
    }
  });
}
