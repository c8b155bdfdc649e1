import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, nagResourceFinding } from '../nag.js';
import { TABLE_STREAM_VIEW_TYPE } from './global-table.js';
import { ParleyFunction } from './parley-function.js';

/** What the primary region's preflight checks before it creates them. */
export interface PreflightProps {
  /** The table about to be created. */
  readonly table: { readonly tableName: string; readonly resource: IConstruct };
  /** The signing secret about to be created (hs256 mode). */
  readonly secret?: { readonly secretName: string; readonly resource: IConstruct };
}

/**
 * The deploy-time checks of one region's stack, run by CloudFormation through one function
 * (`lambdas/handlers/deploy-check.ts`) behind the CDK's Provider framework:
 * {@link DeployCheck.streamArn} looks up this region's replica stream ARN, and
 * {@link DeployCheck.preflight} keeps the primary from creating its table and secret over ones an
 * earlier deploy kept. Both wait out IAM's propagation of the function's own policy, which the
 * same deploy attaches (the race of aws-cdk#21332 and #23340 that `AwsCustomResource` has).
 *
 * @example
 * ```ts
 * const checks = new DeployCheck(this, 'DeployCheck', { tableName: 'parley', tableArn });
 * const streamArn = checks.streamArn();
 * ```
 */
export class DeployCheck extends Construct {
  /** The function behind both checks. */
  public readonly function: ParleyFunction;
  private readonly provider: cr.Provider;
  private readonly tableName: string;

  public constructor(scope: Construct, id: string, props: { tableName: string; tableArn: string }) {
    super(scope, id);
    this.tableName = props.tableName;
    this.function = new ParleyFunction(this, 'Function', {
      handlerName: 'deploy-check',
      description: 'Parley deploy-time checks (CloudFormation custom resource)',
      // Up to 4 minutes of waiting for IAM and the replica, within Lambda's own limit.
      timeout: Duration.minutes(5),
      memorySize: 256,
      logRetention: logs.RetentionDays.ONE_MONTH,
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:DescribeTable'], resources: [props.tableArn] }),
    );
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    this.acknowledgeFramework();
  }

  /**
   * This region's replica stream ARN (`DescribeTable`'s `LatestStreamArn`). The lookup runs again
   * whenever the table's name or stream view type changes, so a stream replaced by a change of the
   * stream settings is read anew, and the mapping and the consumer's policy follow it.
   */
  public streamArn(): string {
    const lookup = new CustomResource(this, 'StreamArn', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::ParleyStreamArn',
      properties: {
        Operation: 'streamArn',
        TableName: this.tableName,
        StreamViewType: TABLE_STREAM_VIEW_TYPE,
      },
    });
    return lookup.getAttString('StreamArn');
  }

  /**
   * Runs before the table (and the secret) are created, and fails the deploy with a message that
   * says what to do when a table or secret of the same name is already there, kept by an earlier
   * deploy, unless it is this stack's own.
   */
  public preflight(props: PreflightProps): void {
    const stack = Stack.of(this);
    const check = new CustomResource(this, 'Preflight', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::ParleyPreflight',
      properties: {
        Operation: 'preflight',
        TableName: props.table.tableName,
        TableLogicalId: stack.getLogicalId(defaultResource(props.table.resource)),
        StackId: stack.stackId,
        ...(props.secret === undefined
          ? {}
          : {
              SecretName: props.secret.secretName,
              SecretLogicalId: stack.getLogicalId(defaultResource(props.secret.resource)),
            }),
      },
    });
    props.table.resource.node.addDependency(check);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStackResource'],
        resources: [stack.stackId],
      }),
    );
    if (props.secret === undefined) return;
    props.secret.resource.node.addDependency(check);
    // ListSecrets has no resource-level permissions (Service Authorization Reference).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
    );
    acknowledge(
      this.function.role ?? this.function,
      'AwsSolutions-IAM5[Resource::*]',
      'secretsmanager:ListSecrets supports no resource-level permissions; it lists names and metadata, never values, and runs only at deploy time.',
    );
  }

  private acknowledgeFramework(): void {
    const framework = this.provider.node.tryFindChild('framework-onEvent');
    if (framework === undefined) return;
    acknowledge(
      framework,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "The CDK Provider framework's function writes its logs with the basic execution role; it runs only at deploy time.",
    );
    acknowledge(
      framework,
      `AwsSolutions-IAM5[${nagResourceFinding(this, `${this.function.functionArn}:*`)}]`,
      'The Provider framework may invoke every version of the one deploy-check function.',
    );
    acknowledge(
      framework,
      'AwsSolutions-L1',
      "The Provider framework's runtime is chosen by the CDK release, not by this app.",
    );
  }
}

/** The CloudFormation resource of an L2 construct (its default child), or the construct itself. */
const defaultResource = (construct: IConstruct) =>
  (construct.node.defaultChild ?? construct) as Parameters<Stack['getLogicalId']>[0];
