/**
 * The DynamoDB store on DynamoDB Local against the store contract (`test/helpers/store-contract.ts`),
 * which the in-memory store the route tests use meets in `test/unit/shared/store/memory.test.ts`.
 * Each scenario gets a table of its own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { documentClient } from '../../lambdas/shared/clients.js';
import { dynamoStore } from '../../lambdas/shared/store/index.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { storeContract } from '../helpers/store-contract.js';
import { createTable } from '../helpers/table.js';

let ddb: DynamoDbLocal | undefined;
let client: DynamoDBClient;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  client = new DynamoDBClient(ddb.clientConfig);
});

afterAll(async () => {
  client?.destroy();
  await stopDynamoDbLocal(ddb);
});

storeContract('DynamoDB', async () =>
  dynamoStore({ client: documentClient(client), table: await createTable(client, 'parley-store') }),
);
