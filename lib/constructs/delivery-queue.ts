import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ParleyFunction } from './parley-function.js';

/** Properties of a {@link DeliveryQueue}. */
export interface DeliveryQueueProps {
  /** The delivery function that consumes the queue. */
  readonly consumer: ParleyFunction;
  /** Receives before a batch goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Messages per batch given to the consumer. @default 10 */
  readonly batchSize?: number;
}

/**
 * The SQS delivery queue of one region: batches of connection ids for rooms too large to deliver
 * inline, and deliveries that still failed after inline retries. Encrypted, TLS only, with a redrive
 * policy to a dead-letter queue that the redrive command replays.
 */
export class DeliveryQueue extends Construct {
  /** The delivery queue. */
  public readonly queue: sqs.Queue;
  /** Its dead-letter queue. */
  public readonly deadLetterQueue: sqs.Queue;

  public constructor(scope: Construct, id: string, props: DeliveryQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows, so an operator has two weeks to redrive.
      retentionPeriod: Duration.days(14),
    });
    const consumerTimeout = props.consumer.timeout ?? Duration.seconds(10);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS recommends six times the function timeout, so a batch that is retried inside one
      // invocation is not received twice.
      visibilityTimeout: Duration.seconds(consumerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
    props.consumer.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        reportBatchItemFailures: true,
        maxBatchingWindow: Duration.seconds(0),
      }),
    );
  }
}
