import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on one construct (and the resources below it), with the reason
 * kept next to the code that causes it. `id` is a rule id such as `AwsSolutions-SQS3`, or one
 * finding of a rule that reports several, such as `AwsSolutions-IAM5[Resource::...]`.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Renders a resource ARN the way cdk-nag names a wildcard finding (`Resource::<text>`): literal
 * text as is, `Ref`s as `<Name>`, `Fn::GetAtt`s as `<Logical.Attribute>`.
 */
export function nagResourceFinding(scope: IConstruct, arn: string): string {
  return `Resource::${render(Stack.of(scope).resolve(arn))}`;
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(render).join('');
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if ('Ref' in object) return `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) {
      const [resource, attribute] = object['Fn::GetAtt'] as [string, string];
      return `<${resource}.${attribute}>`;
    }
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  return JSON.stringify(value);
}
