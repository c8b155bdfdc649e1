import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The name of the table's only global secondary index: a room's messages by time. */
export const BY_TIME_INDEX = 'byTime';
/**
 * The table's stream view type on every replica: the fan-out reads new images, global tables need
 * both. The replica stream lookup (`DeployCheck.streamArn`) runs again when this changes.
 */
export const TABLE_STREAM_VIEW_TYPE = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES;
/** The table's TTL attribute (epoch seconds). */
export const TTL_ATTRIBUTE = 'ttl';

/** Properties of a {@link GlobalTable}. */
export interface GlobalTableProps {
  /** The table's name. */
  readonly tableName: string;
  /** Regions of the other replicas (the stack's own region always holds one). */
  readonly replicaRegions: readonly string[];
  /** `strong` creates a multi-Region strong consistency (MRSC) table. */
  readonly consistency: 'eventual' | 'strong';
  /** The MRSC witness region (strong mode with two replicas). */
  readonly witnessRegion?: string;
  /** Deletion protection on every replica. */
  readonly deletionProtection: boolean;
}

/**
 * The one DynamoDB global table of docs/data-model.md: on-demand, string keys `pk`/`sk`, a
 * `NEW_AND_OLD_IMAGES` stream on every replica (the fan-out reads it), point-in-time recovery on
 * every replica, the `byTime` index, and TTL on `ttl`.
 *
 * In strong mode the table uses multi-Region strong consistency. DynamoDB does not support TTL on
 * MRSC tables (nor local secondary indexes or transactions), so strong mode has no TTL: expired
 * connections and memberships are removed by `$disconnect` and on `410 Gone`, and messages are kept.
 * Streams and global secondary indexes are supported on MRSC tables.
 */
export class GlobalTable extends Construct {
  /** The table. */
  public readonly table: dynamodb.TableV2;

  public constructor(scope: Construct, id: string, props: GlobalTableProps) {
    super(scope, id);
    const strong = props.consistency === 'strong';
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      dynamoStream: TABLE_STREAM_VIEW_TYPE,
      ...(strong ? {} : { timeToLiveAttribute: TTL_ATTRIBUTE }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      // Chat history is data: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: BY_TIME_INDEX,
          partitionKey: { name: 'gpk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsk', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
      replicas: props.replicaRegions.map((region) => ({ region })),
      ...(strong
        ? {
            multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG,
            ...(props.witnessRegion === undefined ? {} : { witnessRegion: props.witnessRegion }),
          }
        : {}),
    });
  }
}
