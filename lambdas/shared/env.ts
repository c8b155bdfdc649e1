/**
 * Environment access for the handlers. Every variable is read through these helpers so a missing
 * one fails with a message that names it, instead of an `undefined` deep inside a handler.
 * Variables are read at call time, not at import time, so one bundle serves every handler even
 * though each needs a different subset (the authorizer has no table, the fan-out no auth settings).
 *
 * The deploy-time settings come through {@link readSetting}, from the one settings table.
 */
import { SETTINGS, type SettingKey, type SettingSpec, type SettingValue } from '../../lib/settings.js';
import { ConfigurationError } from './errors.js';

/**
 * Returns a required environment variable.
 *
 * @throws ConfigurationError when the variable is missing or empty.
 */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigurationError(`environment variable ${name} is required but not set`);
  }
  return value;
};

/** Returns an optional environment variable, `undefined` when unset or empty. */
export const optionalEnv = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

/**
 * Returns an integer environment variable of at least `min` (default 1), or `fallback` when unset.
 *
 * @throws ConfigurationError when it is set but not such an integer.
 */
export const intEnv = (name: string, fallback: number, min = 1): number => {
  const raw = optionalEnv(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    const what = min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
    throw new ConfigurationError(`environment variable ${name} must be ${what}, got "${raw}"`);
  }
  return value;
};

/**
 * Reads a deploy-time setting from the variable the settings table (`lib/settings.ts`) binds it to,
 * checked against the table's range; the table's default when the variable is unset. The stacks
 * set every variable from the same table, so the two never disagree on a name or a default.
 *
 * @example
 * ```ts
 * const burst = readSetting('sendBurst'); // SEND_BURST, default 20
 * ```
 * @throws ConfigurationError when the setting has no variable, or its value is out of range.
 */
export const readSetting = <K extends SettingKey>(key: K): SettingValue<K> => {
  const spec: SettingSpec = SETTINGS[key];
  if (spec.env === undefined || spec.kind === 'custom') {
    throw new ConfigurationError(`setting ${key} does not reach the handlers through a variable`);
  }
  const name = spec.env.name;
  const raw = optionalEnv(name);
  const fail = (what: string): never => {
    throw new ConfigurationError(`environment variable ${name} must be ${what}, got "${raw}"`);
  };
  switch (spec.kind) {
    case 'integer': {
      const value = intEnv(name, spec.default, spec.min);
      if (value > spec.max) fail(`an integer of at most ${spec.max}`);
      return value as SettingValue<K>;
    }
    case 'number': {
      if (raw === undefined) return spec.default as SettingValue<K>;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < spec.min || value > spec.max)
        fail(`a number from ${spec.min} to ${spec.max}`);
      return value as SettingValue<K>;
    }
    case 'boolean':
      if (raw === undefined) return spec.default as SettingValue<K>;
      if (raw !== 'true' && raw !== 'false') fail('true or false');
      return (raw === 'true') as SettingValue<K>;
    case 'enum':
      if (raw === undefined) return spec.default as SettingValue<K>;
      if (!spec.values.includes(raw)) fail(spec.values.join(' or '));
      return raw as SettingValue<K>;
    case 'string':
      if (raw === undefined) {
        if (spec.default === undefined)
          throw new ConfigurationError(`environment variable ${name} is required but not set`);
        return spec.default as SettingValue<K>;
      }
      if (!spec.pattern.test(raw)) fail(spec.allowed);
      return raw as SettingValue<K>;
  }
};

/**
 * The default presence timeout: the SDK pings every 30 s, so a live connection is heard from at
 * least that often; 15 s more covers a slow pong and replication to the other regions.
 */
export const DEFAULT_PRESENCE_TIMEOUT_SECONDS: number = SETTINGS.presenceTimeoutSeconds.default;

/** The consistency mode of the table: per-origin sequences, or one global sequence (MRSC). */
export type Consistency = 'eventual' | 'strong';

/** Settings shared by the route, stream and queue handlers. */
export interface RuntimeConfig {
  /** The global table's name (`TABLE_NAME`). */
  tableName: string;
  /** This region (`AWS_REGION`). */
  region: string;
  /** `CONSISTENCY`, default `eventual`. */
  consistency: Consistency;
  /** Body limit in bytes (`MAX_BODY_BYTES`, default 16384). */
  maxBodyBytes: number;
  /** Message retention in days (`MESSAGE_RETENTION_DAYS`, default 30). */
  retentionDays: number;
  /** Local members delivered inline before the delivery queue takes over (`FANOUT_INLINE_MAX`, default 100). */
  fanoutInlineMax: number;
  /**
   * Seconds after its last sign of life (connect, ping) a connection is left out of presence
   * (`PRESENCE_TIMEOUT_SECONDS`, default {@link DEFAULT_PRESENCE_TIMEOUT_SECONDS}; 0 turns the
   * check and the heartbeat writes off). Optional so callers that build a config by hand get the default.
   */
  presenceTimeoutSeconds?: number | undefined;
  /** The SQS delivery queue (`DELIVERY_QUEUE_URL`); optional so a misconfigured queue never blocks an ack. */
  deliveryQueueUrl: string | undefined;
  /** Abuse limits; optional so callers that build a config by hand get {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits> | undefined;
}

/**
 * Per-connection and per-user limits of the route handlers. Every action has a rate limit,
 * `<action>RatePerSecond` and `<action>Burst` (`<ACTION>_RATE_PER_SECOND`, `<ACTION>_BURST`; the
 * defaults are the settings table's): `rateOf` in `lambdas/shared/rates.ts` reads them by action.
 */
export interface Limits {
  /** Sends refilled per second per connection (`SEND_RATE_PER_SECOND`, default 10). */
  sendRatePerSecond: number;
  /** Sends a connection may burst before the rate applies (`SEND_BURST`, default 20). */
  sendBurst: number;
  /** Joins refilled per second per connection (`JOIN_RATE_PER_SECOND`, default 10). */
  joinRatePerSecond: number;
  /** Joins a connection may burst (`JOIN_BURST`, default 100: a reconnect re-joins every room). */
  joinBurst: number;
  /** Leaves refilled per second per connection (`LEAVE_RATE_PER_SECOND`, default 10). */
  leaveRatePerSecond: number;
  /** Leaves a connection may burst (`LEAVE_BURST`, default 100). */
  leaveBurst: number;
  /** History pages refilled per second per connection (`HISTORY_RATE_PER_SECOND`, default 5). */
  historyRatePerSecond: number;
  /** History pages a connection may burst (`HISTORY_BURST`, default 20). */
  historyBurst: number;
  /** Presence requests refilled per second per connection (`PRESENCE_RATE_PER_SECOND`, default 5). */
  presenceRatePerSecond: number;
  /** Presence requests a connection may burst (`PRESENCE_BURST`, default 20). */
  presenceBurst: number;
  /** Pings refilled per second per connection (`PING_RATE_PER_SECOND`, default 1; the SDK pings every 30 s). */
  pingRatePerSecond: number;
  /** Pings a connection may burst (`PING_BURST`, default 5). */
  pingBurst: number;
  /** Rooms one connection may be in (`MAX_ROOMS_PER_CONNECTION`, default 50). */
  maxRoomsPerConnection: number;
  /** Open connections per user across all regions (`MAX_CONNECTIONS_PER_USER`, default 10). */
  maxConnectionsPerUser: number;
  /** Messages one `join` replays (`MAX_REPLAY`, default 500). */
  maxReplay: number;
}

/** The limits used when a variable is not set: the settings table's defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  sendRatePerSecond: SETTINGS.sendRatePerSecond.default,
  sendBurst: SETTINGS.sendBurst.default,
  joinRatePerSecond: SETTINGS.joinRatePerSecond.default,
  joinBurst: SETTINGS.joinBurst.default,
  leaveRatePerSecond: SETTINGS.leaveRatePerSecond.default,
  leaveBurst: SETTINGS.leaveBurst.default,
  historyRatePerSecond: SETTINGS.historyRatePerSecond.default,
  historyBurst: SETTINGS.historyBurst.default,
  presenceRatePerSecond: SETTINGS.presenceRatePerSecond.default,
  presenceBurst: SETTINGS.presenceBurst.default,
  pingRatePerSecond: SETTINGS.pingRatePerSecond.default,
  pingBurst: SETTINGS.pingBurst.default,
  maxRoomsPerConnection: SETTINGS.maxRoomsPerConnection.default,
  maxConnectionsPerUser: SETTINGS.maxConnectionsPerUser.default,
  maxReplay: SETTINGS.maxReplay.default,
};

/** The effective limits of a configuration (defaults for the unset ones). */
export const limitsOf = (config: Pick<RuntimeConfig, 'limits'>): Limits => ({
  ...DEFAULT_LIMITS,
  ...config.limits,
});

/**
 * Reads the limits from the environment.
 *
 * @throws ConfigurationError when a variable is set but out of its range.
 */
export const loadLimits = (): Limits => ({
  sendRatePerSecond: readSetting('sendRatePerSecond'),
  sendBurst: readSetting('sendBurst'),
  joinRatePerSecond: readSetting('joinRatePerSecond'),
  joinBurst: readSetting('joinBurst'),
  leaveRatePerSecond: readSetting('leaveRatePerSecond'),
  leaveBurst: readSetting('leaveBurst'),
  historyRatePerSecond: readSetting('historyRatePerSecond'),
  historyBurst: readSetting('historyBurst'),
  presenceRatePerSecond: readSetting('presenceRatePerSecond'),
  presenceBurst: readSetting('presenceBurst'),
  pingRatePerSecond: readSetting('pingRatePerSecond'),
  pingBurst: readSetting('pingBurst'),
  maxRoomsPerConnection: readSetting('maxRoomsPerConnection'),
  maxConnectionsPerUser: readSetting('maxConnectionsPerUser'),
  maxReplay: readSetting('maxReplay'),
});

/**
 * Reads the runtime settings of the data-plane handlers.
 *
 * @throws ConfigurationError when `TABLE_NAME` or `AWS_REGION` is missing or a value is invalid.
 */
export const loadRuntimeConfig = (): RuntimeConfig => ({
  tableName: requireEnv('TABLE_NAME'),
  region: requireEnv('AWS_REGION'),
  consistency: readSetting('consistency'),
  maxBodyBytes: readSetting('maxBodyBytes'),
  retentionDays: readSetting('messageRetentionDays'),
  fanoutInlineMax: readSetting('fanoutInlineMax'),
  presenceTimeoutSeconds: readSetting('presenceTimeoutSeconds'),
  deliveryQueueUrl: optionalEnv('DELIVERY_QUEUE_URL'),
  limits: loadLimits(),
});
