import { ConfigError } from './config-error.js';
import {
  type ContextReader,
  checkReservations,
  optionalString,
  parseAuth,
  parseCloudWatchRole,
  parseDomain,
  parseRegions,
  parseStrong,
  REGION_PATTERN,
  read,
} from './config-groups.js';
import {
  type EnvScope,
  SETTING_KEYS,
  SETTINGS,
  type SettingKey,
  type SettingValue,
  settingsEnvironment,
} from './settings.js';

export { ConfigError } from './config-error.js';
export { type ContextReader, MRSC_REGION_SETS } from './config-groups.js';

export { JWT_SECRET_NAME, MAX_BODY_BYTES_LIMIT, MESSAGE_FRAME_OVERHEAD_BYTES } from './settings.js';

/**
 * The context keys the app reads, exactly as they are written in `cdk.json` or passed with
 * `-c key=value`: the keys of the settings table (`lib/settings.ts`). Anything else in the context
 * is ignored.
 */
export const CONFIG_KEYS = SETTING_KEYS;

/** One of {@link CONFIG_KEYS}. */
export type ConfigKey = SettingKey;

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
