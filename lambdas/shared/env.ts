/**
 * Environment access for the handlers. Every variable is read through these helpers so a missing
 * one fails with a message that names it, instead of an `undefined` deep inside a handler.
 * Variables are read at call time, not at import time, so one bundle serves every handler even
 * though each needs a different subset (the authorizer has no table, the fan-out no auth settings).
 */

import { DEFAULT_MAX_BODY_BYTES } from '../../protocol/index.js';
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
 * The default presence timeout: the SDK pings every 30 s, so a live connection is heard from at
 * least that often; 15 s more covers a slow pong and replication to the other regions.
 */
export const DEFAULT_PRESENCE_TIMEOUT_SECONDS = 45;

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

/** Per-connection and per-user limits of the route handlers. */
export interface Limits {
  /** Sends refilled per second per connection (`SEND_RATE_PER_SECOND`, default 10). */
  sendRatePerSecond: number;
  /** Sends a connection may burst before the rate applies (`SEND_BURST`, default 20). */
  sendBurst: number;
  /** Rooms one connection may be in (`MAX_ROOMS_PER_CONNECTION`, default 50). */
  maxRoomsPerConnection: number;
  /** Open connections per user across all regions (`MAX_CONNECTIONS_PER_USER`, default 10). */
  maxConnectionsPerUser: number;
}

/** The limits used when a variable is not set. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  sendRatePerSecond: 10,
  sendBurst: 20,
  maxRoomsPerConnection: 50,
  maxConnectionsPerUser: 10,
};

/** The effective limits of a configuration (defaults for the unset ones). */
export const limitsOf = (config: Pick<RuntimeConfig, 'limits'>): Limits => ({
  ...DEFAULT_LIMITS,
  ...config.limits,
});

/**
 * Reads the limits from the environment.
 *
 * @throws ConfigurationError when a variable is set but not a positive integer.
 */
export const loadLimits = (): Limits => ({
  sendRatePerSecond: intEnv('SEND_RATE_PER_SECOND', DEFAULT_LIMITS.sendRatePerSecond),
  sendBurst: intEnv('SEND_BURST', DEFAULT_LIMITS.sendBurst),
  maxRoomsPerConnection: intEnv('MAX_ROOMS_PER_CONNECTION', DEFAULT_LIMITS.maxRoomsPerConnection),
  maxConnectionsPerUser: intEnv('MAX_CONNECTIONS_PER_USER', DEFAULT_LIMITS.maxConnectionsPerUser),
});

/**
 * Reads the runtime settings of the data-plane handlers.
 *
 * @throws ConfigurationError when `TABLE_NAME` or `AWS_REGION` is missing or a value is invalid.
 */
export const loadRuntimeConfig = (): RuntimeConfig => {
  const consistency = optionalEnv('CONSISTENCY') ?? 'eventual';
  if (consistency !== 'eventual' && consistency !== 'strong') {
    throw new ConfigurationError(
      `environment variable CONSISTENCY must be eventual or strong, got "${consistency}"`,
    );
  }
  return {
    tableName: requireEnv('TABLE_NAME'),
    region: requireEnv('AWS_REGION'),
    consistency,
    maxBodyBytes: intEnv('MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
    retentionDays: intEnv('MESSAGE_RETENTION_DAYS', 30),
    fanoutInlineMax: intEnv('FANOUT_INLINE_MAX', 100, 0),
    presenceTimeoutSeconds: intEnv('PRESENCE_TIMEOUT_SECONDS', DEFAULT_PRESENCE_TIMEOUT_SECONDS, 0),
    deliveryQueueUrl: optionalEnv('DELIVERY_QUEUE_URL'),
    limits: loadLimits(),
  };
};
