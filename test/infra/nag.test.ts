import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { createParleyApp } from '../../lib/app.js';
import { CDK_JSON_CONTEXT, CONFIGURATIONS, SKIP_BUNDLING } from './synth.js';

type Violation = ReturnType<AwsSolutionsChecks['validateScope']>['violations'][number];

/** What cdk-nag's AwsSolutions pack reports for `scope` after acknowledgements. */
function nagViolations(scope: IConstruct): Violation[] {
  return new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope).violations;
}

function describeViolations(violations: Violation[]): string[] {
  return violations.map(
    (violation) =>
      `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
  );
}

describe('cdk-nag AwsSolutions', () => {
  describe.each(Object.entries(CONFIGURATIONS))('%s configuration', (_name, context) => {
    const parley = createParleyApp({ context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING, ...context } });

    it.each([...parley.stacks.keys()])('%s: no unacknowledged errors (or warnings)', (region) => {
      const stack = parley.stacks.get(region);
      if (stack === undefined) throw new Error(region);
      const violations = nagViolations(stack);
      expect(describeViolations(violations.filter((violation) => violation.severity === 'error'))).toEqual(
        [],
      );
      expect(describeViolations(violations)).toEqual([]);
    });

    it('synthesizes with the AwsSolutions plugin registered', () => {
      // The plugin runs during synthesis and throws on any unacknowledged error.
      expect(() => parley.app.synth()).not.toThrow();
    });
  });

  it('every acknowledgement gives a specific reason and sits below stack level', () => {
    const parley = createParleyApp({
      context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING, ...CONFIGURATIONS.domain },
    });
    const acknowledgements: Array<{ path: string; id: string; reason: string; onStack: boolean }> = [];
    for (const construct of parley.app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledgements.push({
            path: construct.node.path,
            id,
            reason,
            onStack: Stack.isStack(construct) || construct === parley.app,
          });
        }
      }
    }
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, id, reason, onStack } of acknowledgements) {
      expect(reason.length, `${path} ${id}`).toBeGreaterThan(40);
      expect(onStack, `${path} acknowledges ${id} for a whole stack`).toBe(false);
    }
  });

  describe('the check bites', () => {
    it('reports an unacknowledged violation in a throwaway stack', () => {
      const app = new App({ context: SKIP_BUNDLING });
      const stack = new Stack(app, 'Throwaway', { env: { region: 'us-east-1' } });
      new sqs.Queue(stack, 'PlainQueue');
      const rules = nagViolations(stack).map((violation) => violation.ruleName);
      expect(rules).toContain('AwsSolutions-SQS4');
      expect(rules).toContain('AwsSolutions-SQS3');
    });

    it('an acknowledgement removes exactly the acknowledged rule', () => {
      const app = new App({ context: SKIP_BUNDLING });
      const stack = new Stack(app, 'Throwaway', { env: { region: 'us-east-1' } });
      const queue = new sqs.Queue(stack, 'PlainQueue');
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'a throwaway queue in a test' });
      const rules = nagViolations(stack).map((violation) => violation.ruleName);
      expect(rules).not.toContain('AwsSolutions-SQS3');
      expect(rules).toContain('AwsSolutions-SQS4');
    });

    it('fails synthesis when the plugin is registered', () => {
      const app = new App({ context: SKIP_BUNDLING });
      const stack = new Stack(app, 'Throwaway', { env: { region: 'us-east-1' } });
      new sqs.Queue(stack, 'PlainQueue');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    });
  });
});
