/**
 * The table of `docs/data-model.md` as `CreateTable` input, for engines that are not created by
 * CloudFormation (DynamoDB Local in the tests and the local stack). The CDK app declares the same
 * table with `TableV2`; keep the two in step.
 */
import type { CreateTableCommandInput, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';

/** The TTL attribute (epoch seconds). */
export const TTL_ATTRIBUTE = 'ttl';
/** The history index. */
export const BY_TIME_INDEX = 'byTime';

/** `CreateTable` input of Parley's table: keys `pk`/`sk`, GSI `byTime`, stream NEW_AND_OLD_IMAGES. */
export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'gpk', AttributeType: 'S' },
    { AttributeName: 'gsk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: BY_TIME_INDEX,
      KeySchema: [
        { AttributeName: 'gpk', KeyType: 'HASH' },
        { AttributeName: 'gsk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
});

/** `UpdateTimeToLive` input enabling the `ttl` attribute. */
export const timeToLiveInput = (tableName: string): UpdateTimeToLiveCommandInput => ({
  TableName: tableName,
  TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
});
