/**
 * The settings that are parsed together rather than one by one from the table: the regions and
 * strong mode, the custom domain, the auth group, the API Gateway logging role, and the check of
 * the concurrency reservations against the account's quota. Also the context readers they share
 * with `lib/config.ts`.
 */

import type { ApiGatewayCloudWatchRole, AuthConfig, DomainConfig, PlainSettings } from './config.js';
import { ConfigError } from './config-error.js';
import { groupSize } from './handler-access.js';
import { allowedText, parseSettingValue, settingDefault } from './setting-values.js';
import { SETTINGS, type SettingKey, type SettingValue } from './settings.js';

/**
 * The regions of each DynamoDB multi-Region strong consistency (MRSC) region set. An MRSC table's
 * replicas and witness must all come from one set (DynamoDB developer guide, "How global tables work").
 */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

export const REGION_PATTERN =
  /^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?$/;
// RFC 1123 labels, at least two, no trailing dot.
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,31}$/;
const ROLE_ARN_PATTERN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** Reads one raw context value; `undefined` when the key is not set. */
export type ContextReader = (key: SettingKey) => unknown;

export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function optionalString(get: ContextReader, key: SettingKey, allowed: string): string | undefined {
  const value = get(key);
  if (isUnset(value)) return undefined;
  if (typeof value !== 'string') throw new ConfigError(key, value, allowed);
  return value.trim();
}

/** Reads a table-parsed setting: its default when unset, else its value, or a ConfigError. */
export function read<K extends SettingKey>(get: ContextReader, key: K): SettingValue<K> | undefined {
  const value = get(key);
  if (isUnset(value)) return settingDefault(key);
  const parsed = parseSettingValue(key, value);
  if (!parsed.ok) throw new ConfigError(key, value, allowedText(SETTINGS[key]));
  return parsed.value;
}

export function parseRegions(value: unknown): string[] {
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

export function parseStrong(regions: readonly string[], witnessRegion: string | undefined): void {
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

export function parseCloudWatchRole(get: ContextReader): ApiGatewayCloudWatchRole {
  const allowed = SETTINGS.apiGatewayCloudWatchRole.allowed;
  const value = optionalString(get, 'apiGatewayCloudWatchRole', allowed) ?? 'create';
  if (value === 'create' || value === 'existing') return value;
  if (!ROLE_ARN_PATTERN.test(value)) throw new ConfigError('apiGatewayCloudWatchRole', value, allowed);
  return { roleArn: value };
}

export function parseDomain(get: ContextReader): DomainConfig | undefined {
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
    const key = missing[0] as SettingKey;
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

export function parseAuth(get: ContextReader): AuthConfig {
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
export function checkReservations(plain: PlainSettings): void {
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
