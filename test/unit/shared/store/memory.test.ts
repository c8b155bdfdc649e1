/**
 * The in-memory store against the store contract (`test/helpers/store-contract.ts`), which the
 * DynamoDB store meets on DynamoDB Local in `test/integration/store.test.ts`.
 */
import { createMemoryStore } from '../../../../lambdas/shared/store/index.js';
import { storeContract } from '../../../helpers/store-contract.js';

storeContract('memory', async () => createMemoryStore());
