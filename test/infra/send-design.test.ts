import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigKey, parseConfig } from '../../lib/config.js';
import { type CfnTemplate, readRegion } from '../../local/template.js';
import { synth, templateOf } from './synth.js';

// The benchmarks' scan-and-broadcast baseline is selected with `-c sendDesign=baseline`; by default
// it does not exist in the templates at all.
const parley = synth({});
const baseline = synth({ sendDesign: 'baseline' });

/** The `parley:handler` of the function behind a route, read as the local stack reads it. */
const routeHandler = (template: CfnTemplate, routeKey: string): string | undefined => {
  const region = readRegion('us-east-1', 'Parley-us-east-1', template);
  const route = region.api?.routes.find((r) => r.routeKey === routeKey);
  return region.functions.find((fn) => fn.logicalId === route?.functionLogicalId)?.handler;
};

describe('Config: sendDesign', () => {
  const read =
    (context: Record<string, unknown>) =>
    (key: ConfigKey): unknown =>
      context[key];

  it('defaults to parley and leaves the key out of the config', () => {
    expect(parseConfig(read({})).sendDesign).toBeUndefined();
    expect(parseConfig(read({ sendDesign: 'parley' })).sendDesign).toBeUndefined();
    expect(parseConfig(read({ sendDesign: 'baseline' })).sendDesign).toBe('baseline');
  });

  it('refuses anything else, naming the key and what is allowed', () => {
    expect(() => parseConfig(read({ sendDesign: 'scan' }))).toThrow(ConfigError);
    expect(() => parseConfig(read({ sendDesign: 'scan' }))).toThrow(
      'Invalid context value for "sendDesign": "scan". Allowed: "parley" or "baseline".',
    );
  });
});

describe('App: sendDesign', () => {
  it('has no baseline function by default, and send routes to the send handler', () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const template = templateOf(parley, region);
      const functions = template.findResources('AWS::Lambda::Function', {
        Metadata: { 'parley:handler': 'baseline-send' },
      });
      expect(Object.keys(functions)).toEqual([]);
      expect(routeHandler(template.toJSON() as CfnTemplate, 'send')).toBe('send');
      // No function of the default app may Scan.
      expect(JSON.stringify(template.toJSON())).not.toContain('dynamodb:Scan');
    }
  });

  it('with sendDesign=baseline wires the send route to baseline-send in every region', () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const template = templateOf(baseline, region);
      const functions = template.findResources('AWS::Lambda::Function', {
        Metadata: { 'parley:handler': 'baseline-send', 'parley:entry': 'lambdas/handlers/baseline-send.ts' },
      });
      expect(Object.keys(functions)).toHaveLength(1);
      expect(routeHandler(template.toJSON() as CfnTemplate, 'send')).toBe('baseline-send');
      // The other routes are Parley's.
      expect(routeHandler(template.toJSON() as CfnTemplate, 'join')).toBe('join');
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Action: 'dynamodb:Scan', Effect: 'Allow' })]),
        },
      });
    }
  });

  it('the baseline configuration is cdk-nag clean', () => {
    for (const stack of baseline.stacks.values()) {
      const violations = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack).violations;
      expect(violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
    }
  });
});
