/**
 * Creates Parley's table (exactly as `docs/data-model.md` describes it, from
 * `lambdas/shared/store/schema.ts`) in a DynamoDB engine, with a fresh name per call so test
 * files never share state.
 */
import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, timeToLiveInput } from '../../lambdas/shared/store/index.js';

export { createTableInput } from '../../lambdas/shared/store/index.js';

let counter = 0;

/** Creates a new table and returns its name. */
export const createTable = async (client: DynamoDBClient, prefix = 'parley-test'): Promise<string> => {
  counter += 1;
  const tableName = `${prefix}-${process.pid}-${Date.now()}-${counter}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  await client.send(new UpdateTimeToLiveCommand(timeToLiveInput(tableName)));
  return tableName;
};
