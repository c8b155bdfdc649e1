import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import type { ParleyFunction } from './parley-function.js';

/** Properties of a {@link FanOut}. */
export interface FanOutProps {
  /** The fan-out function. */
  readonly consumer: ParleyFunction;
  /**
   * This region's stream ARN: the table's attribute where the stack owns the table, else the
   * deploy-time lookup of `DeployCheck.streamArn`.
   */
  readonly streamArn: string;
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
    this.streamArn = props.streamArn;

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
    // ListStreams supports no resource-level permission (Service Authorization Reference, Amazon
    // DynamoDB; aws-cdk#10631, #34575): a statement scoped to a stream ARN grants nothing. The
    // mapping's poller calls it with the function's role.
    props.consumer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
    acknowledge(
      props.consumer.role ?? props.consumer,
      'AwsSolutions-IAM5[Resource::*]',
      'dynamodb:ListStreams supports no resource-level permissions; it returns stream names only, and the other stream actions are scoped to the one stream.',
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
