import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge, nagResourceFinding } from '../nag.js';
import type { ParleyFunction } from './parley-function.js';

// The construct id of the CDK's singleton AwsCustomResource provider function.
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/** Properties of a {@link FanOut}. */
export interface FanOutProps {
  /** The fan-out function. */
  readonly consumer: ParleyFunction;
  /** The global table's name. */
  readonly tableName: string;
  /** The ARN of this region's replica. */
  readonly tableArn: string;
  /**
   * This region's stream ARN when the stack itself owns the table (the primary region). Other
   * regions read their replica's stream ARN with DescribeTable at deploy time.
   * @default - looked up with a custom resource
   */
  readonly streamArn?: string;
  /** Records per batch. @default 100 */
  readonly batchSize?: number;
  /** Retries of a failing batch (after bisecting) before it goes to the DLQ. @default 5 */
  readonly retryAttempts?: number;
  /** Records older than this go to the DLQ unprocessed. @default Duration.hours(1) */
  readonly maxRecordAge?: Duration;
}

/**
 * The fan-out of one region: a Lambda on this region's replica stream that delivers messages and
 * presence events written in other regions to this region's members.
 *
 * The mapping bisects failing batches, retries a bounded number of times, drops records older than
 * a bound, reports partial batch failures, and sends what still fails to an SQS dead-letter queue
 * (the record's shard and sequence numbers, which the redrive command replays).
 *
 * A replica's stream ARN is not an attribute CloudFormation exposes outside the table's own stack,
 * and it embeds the time the stream was enabled, so it cannot be built from the name: a custom
 * resource asks DynamoDB in this region for `Table.LatestStreamArn`.
 */
export class FanOut extends Construct {
  /** The stream ARN the mapping reads. */
  public readonly streamArn: string;
  /** The on-failure destination of the stream mapping. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The event source mapping. */
  public readonly mapping: lambda.EventSourceMapping;

  public constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    if (props.streamArn !== undefined) {
      this.streamArn = props.streamArn;
    } else {
      const describe = {
        service: 'DynamoDB',
        action: 'describeTable',
        parameters: { TableName: props.tableName },
        region: Stack.of(this).region,
        physicalResourceId: PhysicalResourceId.of(`${props.tableName}-stream-arn`),
        outputPaths: ['Table.LatestStreamArn'],
      };
      const lookup = new AwsCustomResource(this, 'StreamArnLookup', {
        onCreate: describe,
        onUpdate: describe,
        policy: AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['dynamodb:DescribeTable'], resources: [props.tableArn] }),
        ]),
        installLatestAwsSdk: false,
      });
      this.streamArn = lookup.getResponseField('Table.LatestStreamArn');
      // The provider function is a singleton shared by every AwsCustomResource of the stack.
      const provider = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
      if (provider !== undefined) {
        acknowledge(
          provider,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "The CDK's AwsCustomResource provider writes its logs with the basic execution role; it runs only at deploy time.",
        );
      }
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the stream mapping; the redrive command replays it.',
    );

    props.consumer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [this.streamArn],
      }),
    );
    const tableStreams = `${props.tableArn}/stream/*`;
    props.consumer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: [tableStreams] }),
    );
    acknowledge(
      props.consumer.role ?? props.consumer,
      `AwsSolutions-IAM5[${nagResourceFinding(this, tableStreams)}]`,
      "ListStreams names the table's streams, whose labels are set at run time; it covers the one table only.",
    );

    this.mapping = new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: props.consumer,
      eventSourceArn: this.streamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: props.batchSize ?? 100,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 5,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(1),
      reportBatchItemFailures: true,
      // One batch per shard at a time keeps each origin's messages in seq order.
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
    // The mapping validates its stream access when it is created, so the grant must exist first.
    const policy = props.consumer.role?.node.tryFindChild('DefaultPolicy');
    if (policy !== undefined) this.mapping.node.addDependency(policy);
  }
}
