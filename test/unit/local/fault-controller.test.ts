/** The fault switchboard: rates, scopes, replication delays, drop picks. */
import { describe, expect, it } from 'vitest';
import { FaultController } from '../../../local/fault-controller.js';

/** A sequence of "random" numbers, repeated. */
const scripted = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('FaultController', () => {
  it('fails a call when the roll is below the rate, only in the regions given', () => {
    const faults = new FaultController(scripted([0.01, 0.5]));
    faults.set({ dynamodb: { throttle: 0.05, error: 0, regions: ['us-east-1'] } });
    expect(faults.dynamoDb('us-east-1')).toBe('throttle');
    expect(faults.dynamoDb('us-east-1')).toBeUndefined();
    expect(faults.dynamoDb('eu-west-1')).toBeUndefined();
    expect(faults.counts.dynamodbThrottles).toBe(1);
  });

  it('answers @connections throttles before gones and counts each', () => {
    const faults = new FaultController(scripted([0.9, 0.1]));
    faults.set({ connections: { throttle: 0.5, gone: 0.5 } });
    // First roll 0.9: no throttle; second roll 0.1: gone.
    expect(faults.connections('r')).toBe('gone');
    expect(faults.counts).toMatchObject({ connectionsThrottles: 0, connectionsGone: 1 });
  });

  it('crashes only the targeted handlers, and never the health check by default', () => {
    const faults = new FaultController(() => 0);
    faults.set({ crash: { rate: 1, phase: 'after' } });
    expect(faults.crash('r', 'send')).toBe('after');
    expect(faults.crash('r', 'health')).toBeUndefined();
    faults.set({ crash: { rate: 1, handlers: ['fanout'], phase: 'before' } });
    expect(faults.crash('r', 'send')).toBeUndefined();
    expect(faults.crash('r', 'fanout')).toBe('before');
  });

  it('delays replication per link, else by the default lag, and pauses', () => {
    const faults = new FaultController();
    expect(faults.replicationDelayMs('a', 'b')).toBe(0);
    faults.set({ replication: { lagMs: 100, links: { 'a>b': 2_000 }, paused: true } });
    expect(faults.replicationDelayMs('a', 'b')).toBe(2_000);
    expect(faults.replicationDelayMs('b', 'a')).toBe(100);
    expect(faults.replicationPaused()).toBe(true);
    faults.clear();
    expect(faults.current()).toEqual({});
  });

  it('refuses rates outside [0, 1] and unknown kinds', () => {
    const faults = new FaultController();
    expect(() => faults.set({ dynamodb: { throttle: 1.5 } } as never)).toThrow();
    expect(() => faults.set({ disk: {} } as never)).toThrow();
  });

  it('picks a count or a fraction of distinct connections', () => {
    const faults = new FaultController(scripted([0.3, 0.7, 0.1, 0.9]));
    const two = faults.pick(10, { count: 2 });
    expect(new Set(two).size).toBe(2);
    expect(faults.pick(10, { fraction: 0.5 })).toHaveLength(5);
    expect(faults.pick(3, { count: 10 })).toHaveLength(3);
    expect(faults.counts.drops).toBe(10);
  });
});
