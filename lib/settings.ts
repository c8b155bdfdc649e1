/**
 * Every deploy-time setting of Parley, in one table: its CDK context key, its type and allowed
 * range, its default, the environment variable that carries it to the handlers (if any), and a
 * one-line description. From this table come:
 *
 * - the CDK context parsing and its errors (`lib/config.ts`);
 * - the environment each function gets (`settingsEnvironment`, used by `lib/stacks/regional-stack.ts`);
 * - the handlers' typed reader (`readSetting` in `lambdas/shared/env.ts`);
 * - the configuration table of the README (`settingsTable`, checked by `test/infra/settings.test.ts`;
 *   `npm run settings:readme` writes it).
 *
 * Adding a setting is one row here, plus the code that uses it; a row's shape is `SettingSpec`
 * (`lib/setting-spec.ts`). No CDK import: the handlers' bundles carry this module.
 */
import { API_GATEWAY_MAX_FRAME_BYTES, DEFAULT_MAX_BODY_BYTES } from '../protocol/index.js';
import type { EnvBinding, EnvScope, SettingSpec } from './setting-spec.js';

export type { EnvBinding, EnvScope, SettingSpec } from './setting-spec.js';

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

/** The settings, in the order the README lists them. */
export const SETTINGS = {
  regions: {
    kind: 'custom',
    allowed:
      'a JSON array or a comma-separated list of at least two distinct AWS region names, e.g. "us-east-1,eu-west-1"',
    shownDefault: 'us-east-1,eu-west-1',
    doc: 'every region with a stack; the first is the primary (it owns the global table and the signing secret)',
  },
  consistency: {
    kind: 'enum',
    values: ['eventual', 'strong'],
    default: 'eventual',
    env: { name: 'CONSISTENCY' },
    doc: 'strong is DynamoDB multi-Region strong consistency: exactly three regions of one region set, or two plus witnessRegion (sets: US us-east-1, us-east-2, us-west-2; EU eu-west-1, eu-west-2, eu-west-3, eu-central-1; AP ap-northeast-1, ap-northeast-2, ap-northeast-3)',
  },
  witnessRegion: {
    kind: 'custom',
    allowed: 'a region of the same multi-Region strong consistency set as "regions"',
    doc: 'strong mode with two regions: the third region, which holds the witness but no replica and gets no stack',
  },
  routing: {
    kind: 'enum',
    values: ['failover', 'latency'],
    default: 'failover',
    doc: 'how the global hostname routes, with a domain: failover (first region PRIMARY, second SECONDARY) or latency',
  },
  domainName: {
    kind: 'custom',
    allowed: 'a lower-case hostname such as "chat.example.com", a subdomain of hostedZoneName',
    doc: 'the global hostname; set with hostedZoneId and hostedZoneName, or none of them',
  },
  hostedZoneId: {
    kind: 'custom',
    allowed: 'a Route 53 hosted zone id such as "Z0123456789ABC"',
    doc: 'the Route 53 hosted zone of domainName',
  },
  hostedZoneName: {
    kind: 'custom',
    allowed: 'a zone name such as "example.com"',
    doc: "the hosted zone's name",
  },
  auth: {
    kind: 'enum',
    values: ['hs256', 'jwks'],
    default: 'hs256',
    env: { name: 'AUTH_MODE' },
    doc: 'hs256: the key is a Secrets Manager secret (jwtSecretName) the primary stack creates and replicates to every region; jwks: tokens of an identity provider (jwksUrl, jwtIssuer, jwtAudience)',
  },
  jwtSecretName: {
    kind: 'string',
    pattern: /^[A-Za-z0-9/_+=.@-]{1,512}$/,
    allowed: 'a Secrets Manager secret name: 1 to 512 of A-Z a-z 0-9 / _ + = . @ -',
    default: JWT_SECRET_NAME,
    env: { name: 'JWT_SECRET_ID', scope: 'authorizer' },
    doc: 'with auth hs256, the name of the signing secret; the authorizer reads it by this name, which resolves in every replica region',
  },
  maxTokenLifetimeSeconds: {
    kind: 'integer',
    min: 60,
    max: 2_592_000,
    default: 86_400,
    env: { name: 'MAX_TOKEN_LIFETIME_SECONDS', scope: 'authorizer' },
    doc: 'the longest token lifetime accepted (exp minus iat, or exp minus now without iat); every token needs exp',
  },
  jwksUrl: {
    kind: 'custom',
    allowed: 'with auth "jwks", an https:// URL of a JWKS document',
    env: { name: 'JWKS_URL', scope: 'authorizer' },
    doc: "with auth jwks (required): the identity provider's JWKS document",
  },
  jwtIssuer: {
    kind: 'custom',
    allowed: 'the expected "iss" claim (required with auth "jwks")',
    env: { name: 'JWT_ISSUER', scope: 'authorizer' },
    doc: "the tokens' issuer: required with auth jwks; with hs256, when set, tokens must carry it",
  },
  jwtAudience: {
    kind: 'custom',
    allowed: 'the expected audience (required with auth "jwks")',
    env: { name: 'JWT_AUDIENCE', scope: 'authorizer' },
    doc: "the tokens' audience: required with auth jwks; with hs256, when set, tokens must carry it",
  },
  jwtAudienceClaim: {
    kind: 'string',
    pattern: /^[A-Za-z0-9_:./-]{1,64}$/,
    allowed: 'a claim name: 1 to 64 of A-Z a-z 0-9 _ : . / -',
    default: 'aud',
    env: { name: 'JWT_AUDIENCE_CLAIM', scope: 'authorizer' },
    doc: 'the claim that holds the audience, for providers that put it elsewhere (Cognito access tokens: client_id)',
  },
  maxBodyBytes: {
    kind: 'integer',
    min: 1,
    max: MAX_BODY_BYTES_LIMIT,
    default: DEFAULT_MAX_BODY_BYTES,
    env: { name: 'MAX_BODY_BYTES' },
    doc: "the largest serialized message body (API Gateway's 32 KiB frame less 1 KiB for the message frame around it)",
  },
  messageRetentionDays: {
    kind: 'integer',
    min: 1,
    max: 3_650,
    default: 30,
    env: { name: 'MESSAGE_RETENTION_DAYS' },
    doc: 'days a message and its idempotency claim are kept before their TTL expires them',
  },
  throttleRate: {
    kind: 'number',
    min: 1,
    max: 10_000,
    default: 500,
    doc: "requests per second per WebSocket route (history and presence get half); API Gateway's account default is 10,000",
  },
  throttleBurst: {
    kind: 'integer',
    min: 1,
    max: 5_000,
    default: 1_000,
    doc: 'the burst of each WebSocket route (history and presence get half)',
  },
  tableName: {
    kind: 'string',
    pattern: /^[A-Za-z0-9_.-]{3,255}$/,
    allowed: 'a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -',
    default: 'parley',
    doc: "the global table's name, the same in every region",
  },
  stageName: {
    kind: 'string',
    pattern: /^[A-Za-z0-9_-]{1,128}$/,
    allowed: 'a stage name: 1 to 128 of A-Z a-z 0-9 _ -',
    default: 'prod',
    doc: 'the WebSocket stage: the path segment of wss://<api>/<stage>',
  },
  deletionProtection: {
    kind: 'boolean',
    default: true,
    doc: 'DynamoDB deletion protection on every replica',
  },
  fanoutInlineMax: {
    kind: 'integer',
    min: 0,
    max: 100_000,
    default: 100,
    env: { name: 'FANOUT_INLINE_MAX' },
    doc: 'local members send delivers to inline before a room goes through the delivery queue',
  },
  alarmEmail: {
    kind: 'string',
    pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    allowed: 'an e-mail address such as "ops@example.com"',
    doc: "subscribed to each region's alarm topic",
  },
  sendRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 10,
    env: { name: 'SEND_RATE_PER_SECOND' },
    doc: "sends per second refilled into each connection's send bucket; beyond it send answers rate_limited and stores nothing",
  },
  sendBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 20,
    env: { name: 'SEND_BURST' },
    doc: 'sends a connection may burst before the rate applies',
  },
  joinRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 10,
    env: { name: 'JOIN_RATE_PER_SECOND' },
    doc: "joins per second refilled into each connection's join bucket; beyond it join answers rate_limited and joins nothing (the SDK retries after a backoff)",
  },
  joinBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 100,
    env: { name: 'JOIN_BURST' },
    doc: 'joins a connection may burst before the rate applies: keep it at least maxRoomsPerConnection, since the SDK re-joins every room at once after a reconnect (the default is twice the default 50, for resumes that join again)',
  },
  leaveRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 10,
    env: { name: 'LEAVE_RATE_PER_SECOND' },
    doc: "leaves per second refilled into each connection's leave bucket; beyond it leave answers rate_limited and the connection stays in the room",
  },
  leaveBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 100,
    env: { name: 'LEAVE_BURST' },
    doc: 'leaves a connection may burst before the rate applies (the default leaves twice the default maxRoomsPerConnection at once)',
  },
  historyRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 5,
    env: { name: 'HISTORY_RATE_PER_SECOND' },
    doc: "history pages per second refilled into each connection's history bucket; beyond it history answers rate_limited and reads nothing",
  },
  historyBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 20,
    env: { name: 'HISTORY_BURST' },
    doc: 'history pages a connection may burst before the rate applies',
  },
  presenceRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 5,
    env: { name: 'PRESENCE_RATE_PER_SECOND' },
    doc: "presence requests per second refilled into each connection's presence bucket; beyond it presence answers rate_limited and reads nothing",
  },
  presenceBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 20,
    env: { name: 'PRESENCE_BURST' },
    doc: 'presence requests (pages) a connection may burst before the rate applies',
  },
  pingRatePerSecond: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 1,
    env: { name: 'PING_RATE_PER_SECOND' },
    doc: "pings per second refilled into each connection's ping bucket (the SDK pings every 30 s); the bucket is kept in the heartbeat's lastSeen write, so beyond it ping answers rate_limited and records nothing; with presenceTimeoutSeconds 0 ping writes nothing and is not limited",
  },
  pingBurst: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 5,
    env: { name: 'PING_BURST' },
    doc: 'pings a connection may burst before the rate applies',
  },
  maxRoomsPerConnection: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 50,
    env: { name: 'MAX_ROOMS_PER_CONNECTION' },
    doc: 'rooms one connection may join; a further join answers forbidden (re-joining a joined room is allowed)',
  },
  maxConnectionsPerUser: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 10,
    env: { name: 'MAX_CONNECTIONS_PER_USER' },
    doc: 'open connections per user across all regions; a further $connect is refused with HTTP 429',
  },
  maxReplay: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 500,
    env: { name: 'MAX_REPLAY' },
    doc: 'messages one join replays from since, shared across origins (oldest missed first); when more were missed, joined says more: true and the client joins again',
  },
  presenceTimeoutSeconds: {
    kind: 'integer',
    min: 0,
    max: 86_400,
    default: 45,
    env: { name: 'PRESENCE_TIMEOUT_SECONDS' },
    doc: "a member of another region not heard from (connect, ping) for this long is left out of presence and joined; one of this region is checked at @connections. Keep it above the SDK's 30 s ping interval; each ping writes lastSeen; 0 turns the writes and the check off",
  },
  reservedConcurrencyConnect: {
    kind: 'integer',
    min: 0,
    max: 10_000,
    default: 0,
    doc: 'Lambda executions reserved for each of $connect and its authorizer, so that a flood of messages cannot keep clients from connecting; 0 reserves none. See lambdaConcurrencyQuota',
  },
  reservedConcurrencyRoutes: {
    kind: 'integer',
    min: 0,
    max: 10_000,
    default: 0,
    doc: 'Lambda executions reserved for each message route ($default, join, leave, send, history, presence, ping), which also caps each; 0 reserves none. See lambdaConcurrencyQuota',
  },
  lambdaConcurrencyQuota: {
    kind: 'integer',
    min: 10,
    max: 1_000_000,
    default: 1_000,
    doc: "the account's Lambda concurrent-executions quota in each region (1,000 by default; new accounts start lower): the reservations must leave at least 100 of it unreserved, which Lambda requires, or the deploy is refused at synth",
  },
  apiGatewayCloudWatchRole: {
    kind: 'custom',
    allowed: '"create", "existing", or the ARN of an IAM role that API Gateway may assume',
    shownDefault: 'create',
    doc: "the region's API Gateway account setting (its logging role): create (a role and the setting, both kept when the stack is deleted), existing (left alone), or a role ARN (the setting points at it)",
  },
  reuseRetained: {
    kind: 'boolean',
    default: false,
    doc: 'use the table and signing secret a deleted deployment kept instead of creating them (README, "Teardown and redeploy")',
  },
  sendDesign: {
    kind: 'enum',
    values: ['parley', 'baseline'],
    default: 'parley',
    doc: 'baseline: the send route runs the scan-and-broadcast baseline of the benchmarks (lambdas/handlers/baseline-send.ts, which Scans the table on every message); for npm run bench only',
  },
} as const satisfies Record<string, SettingSpec>;

/** A setting's CDK context key. */
export type SettingKey = keyof typeof SETTINGS;

/** The context keys the app reads, exactly as they are written in `cdk.json` or passed with `-c`. */
export const SETTING_KEYS = Object.keys(SETTINGS) as readonly SettingKey[];

type Spec<K extends SettingKey> = (typeof SETTINGS)[K];

/** The value type of a setting the table parses (every kind but `custom`). */
export type SettingValue<K extends SettingKey> =
  Spec<K> extends { kind: 'integer' | 'number' }
    ? number
    : Spec<K> extends { kind: 'boolean' }
      ? boolean
      : Spec<K> extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

/**
 * The environment variables of the settings bound to functions of `scope`, from the values of a
 * parsed configuration: `values(key)` gives a setting's value, `undefined` to leave it out.
 */
export const settingsEnvironment = (
  scope: EnvScope,
  values: (key: SettingKey) => string | number | boolean | undefined,
): Record<string, string> => {
  const environment: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const env: EnvBinding | undefined = (SETTINGS[key] as SettingSpec).env;
    if (env === undefined || (env.scope ?? 'all') !== scope) continue;
    const value = values(key);
    if (value !== undefined) environment[env.name] = String(value);
  }
  return environment;
};
