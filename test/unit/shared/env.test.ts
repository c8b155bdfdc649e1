import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  intEnv,
  limitsOf,
  loadRuntimeConfig,
  optionalEnv,
  requireEnv,
} from '../../../lambdas/shared/env.js';
import { ConfigurationError } from '../../../lambdas/shared/errors.js';

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
});

describe('Shared: env', () => {
  it('requireEnv names the missing variable', () => {
    // Prepare
    delete process.env.PARLEY_TEST_MISSING;

    // Act + Assess
    expect(() => requireEnv('PARLEY_TEST_MISSING')).toThrow(ConfigurationError);
    expect(() => requireEnv('PARLEY_TEST_MISSING')).toThrow(/PARLEY_TEST_MISSING is required/);
  });

  it('treats an empty variable as missing', () => {
    // Prepare
    process.env.PARLEY_TEST_EMPTY = '';

    // Act + Assess
    expect(optionalEnv('PARLEY_TEST_EMPTY')).toBeUndefined();
    expect(() => requireEnv('PARLEY_TEST_EMPTY')).toThrow(/PARLEY_TEST_EMPTY/);
  });

  it('intEnv falls back when unset and refuses non-positive integers', () => {
    // Prepare
    delete process.env.PARLEY_TEST_INT;
    const fallback = intEnv('PARLEY_TEST_INT', 7);
    process.env.PARLEY_TEST_INT = '12';
    const set = intEnv('PARLEY_TEST_INT', 7);
    process.env.PARLEY_TEST_INT = '1.5';

    // Act + Assess
    expect(fallback).toBe(7);
    expect(set).toBe(12);
    expect(() => intEnv('PARLEY_TEST_INT', 7)).toThrow(/positive integer/);
  });

  it('intEnv with a minimum of 0 accepts 0 (the settings where 0 means off or none) and refuses -1', () => {
    // Prepare
    process.env.TABLE_NAME = 'parley';
    process.env.AWS_REGION = 'eu-west-1';
    process.env.FANOUT_INLINE_MAX = '0';
    process.env.PRESENCE_TIMEOUT_SECONDS = '0';

    // Act
    const config = loadRuntimeConfig();

    // Assess
    expect(config.fanoutInlineMax).toBe(0);
    expect(config.presenceTimeoutSeconds).toBe(0);
    process.env.PRESENCE_TIMEOUT_SECONDS = '-1';
    expect(() => loadRuntimeConfig()).toThrow(
      /PRESENCE_TIMEOUT_SECONDS must be an integer of at least 0, got "-1"/,
    );
  });

  it('loadRuntimeConfig applies the documented defaults', () => {
    // Prepare
    process.env.TABLE_NAME = 'parley';
    process.env.AWS_REGION = 'eu-west-1';
    for (const name of [
      'CONSISTENCY',
      'MAX_BODY_BYTES',
      'MESSAGE_RETENTION_DAYS',
      'FANOUT_INLINE_MAX',
      'DELIVERY_QUEUE_URL',
      'SEND_RATE_PER_SECOND',
      'SEND_BURST',
      ...['JOIN', 'LEAVE', 'HISTORY', 'PRESENCE', 'PING'].flatMap((action) => [
        `${action}_RATE_PER_SECOND`,
        `${action}_BURST`,
      ]),
      'MAX_ROOMS_PER_CONNECTION',
      'MAX_CONNECTIONS_PER_USER',
      'MAX_REPLAY',
      'PRESENCE_TIMEOUT_SECONDS',
    ]) {
      delete process.env[name];
    }

    // Act
    const config = loadRuntimeConfig();

    // Assess
    expect(config).toEqual({
      tableName: 'parley',
      region: 'eu-west-1',
      consistency: 'eventual',
      maxBodyBytes: 16_384,
      retentionDays: 30,
      fanoutInlineMax: 100,
      presenceTimeoutSeconds: 45,
      deliveryQueueUrl: undefined,
      limits: {
        sendRatePerSecond: 10,
        sendBurst: 20,
        joinRatePerSecond: 10,
        joinBurst: 100,
        leaveRatePerSecond: 10,
        leaveBurst: 100,
        historyRatePerSecond: 5,
        historyBurst: 20,
        presenceRatePerSecond: 5,
        presenceBurst: 20,
        pingRatePerSecond: 1,
        pingBurst: 5,
        maxRoomsPerConnection: 50,
        maxConnectionsPerUser: 10,
        maxReplay: 500,
      },
    });
  });

  it('loadRuntimeConfig reads the limits and refuses a limit that is not a positive integer', () => {
    // Prepare
    process.env.TABLE_NAME = 'parley';
    process.env.AWS_REGION = 'eu-west-1';
    Object.assign(process.env, {
      SEND_RATE_PER_SECOND: '2',
      SEND_BURST: '5',
      JOIN_RATE_PER_SECOND: '6',
      JOIN_BURST: '7',
      PING_RATE_PER_SECOND: '8',
      PING_BURST: '9',
      MAX_ROOMS_PER_CONNECTION: '3',
      MAX_CONNECTIONS_PER_USER: '4',
      MAX_REPLAY: '7',
    });

    // Act
    const config = loadRuntimeConfig();

    // Assess
    expect(config.limits).toEqual({
      ...DEFAULT_LIMITS,
      sendRatePerSecond: 2,
      sendBurst: 5,
      joinRatePerSecond: 6,
      joinBurst: 7,
      pingRatePerSecond: 8,
      pingBurst: 9,
      maxRoomsPerConnection: 3,
      maxConnectionsPerUser: 4,
      maxReplay: 7,
    });
    expect(limitsOf({ limits: { sendBurst: 1 } })).toEqual({ ...DEFAULT_LIMITS, sendBurst: 1 });
    process.env.MAX_ROOMS_PER_CONNECTION = '0';
    expect(() => loadRuntimeConfig()).toThrow(/MAX_ROOMS_PER_CONNECTION must be a positive integer/);
    process.env.MAX_ROOMS_PER_CONNECTION = '3';
    process.env.SEND_RATE_PER_SECOND = 'fast';
    expect(() => loadRuntimeConfig()).toThrow(/SEND_RATE_PER_SECOND must be a positive integer/);
    process.env.SEND_RATE_PER_SECOND = '2';
    process.env.HISTORY_BURST = '0';
    expect(() => loadRuntimeConfig()).toThrow(/HISTORY_BURST must be a positive integer/);
  });

  it('loadRuntimeConfig refuses an unknown consistency and a missing table', () => {
    // Prepare
    process.env.AWS_REGION = 'eu-west-1';
    process.env.TABLE_NAME = 'parley';
    process.env.CONSISTENCY = 'linearizable';

    // Act + Assess
    expect(() => loadRuntimeConfig()).toThrow(/CONSISTENCY must be eventual or strong/);
    process.env.CONSISTENCY = 'strong';
    delete process.env.TABLE_NAME;
    expect(() => loadRuntimeConfig()).toThrow(/TABLE_NAME/);
  });
});
