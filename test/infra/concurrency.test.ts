/**
 * Reserved concurrency per route group: off by default; when set, `$connect` and its authorizer
 * reserve apart from the message routes; a sum Lambda would refuse is refused at synth.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config.js';
import { synth, templateOf } from './synth.js';

const reservations = (context: Record<string, unknown>) =>
  Object.fromEntries(
    Object.values(templateOf(synth(context), 'eu-west-1').findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Metadata?.['parley:handler'] !== undefined)
      .map((fn) => [fn.Metadata['parley:handler'], fn.Properties.ReservedConcurrentExecutions]),
  );

describe('Reserved concurrency', () => {
  it('reserves nothing by default', () => {
    expect(Object.values(reservations({})).filter((value) => value !== undefined)).toEqual([]);
  });

  it('reserves for $connect and the authorizer apart from the message routes', () => {
    const reserved = reservations({ reservedConcurrencyConnect: '50', reservedConcurrencyRoutes: '100' });
    expect(reserved).toMatchObject({
      authorizer: 50,
      connect: 50,
      default: 100,
      join: 100,
      leave: 100,
      send: 100,
      history: 100,
      presence: 100,
      ping: 100,
    });
    for (const handler of ['disconnect', 'fanout', 'delivery', 'health', 'redrive', 'deploy-check']) {
      expect(reserved[handler]).toBeUndefined();
    }
  });

  it('refuses reservations that leave fewer than 100 of the account quota unreserved', () => {
    const read = (context: Record<string, string>) => (key: string) => context[key];
    // 2 × 50 + 7 × 115 = 905, over the 900 a 1,000 quota allows.
    expect(() =>
      parseConfig(read({ reservedConcurrencyConnect: '50', reservedConcurrencyRoutes: '115' })),
    ).toThrow(ConfigError);
    expect(() =>
      parseConfig(read({ reservedConcurrencyConnect: '50', reservedConcurrencyRoutes: '114' })),
    ).not.toThrow();
    expect(() =>
      parseConfig(
        read({
          reservedConcurrencyConnect: '50',
          reservedConcurrencyRoutes: '115',
          lambdaConcurrencyQuota: '2000',
        }),
      ),
    ).not.toThrow();
    try {
      parseConfig(read({ reservedConcurrencyConnect: '5', lambdaConcurrencyQuota: '100' }));
    } catch (error) {
      expect((error as ConfigError).key).toBe('reservedConcurrencyConnect');
      expect((error as Error).message).toContain(
        '2 × reservedConcurrencyConnect + 7 × reservedConcurrencyRoutes = 10, over 0',
      );
      return;
    }
    throw new Error('no ConfigError for a quota of 100');
  });
});
