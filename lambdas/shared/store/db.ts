/**
 * What the DynamoDB store's modules share: the table and its client ({@link Db}), paging through
 * a `Query`, conditional writes that answer whether their condition held, and {@link onDb}, which
 * turns the entity modules' functions into store methods.
 *
 * @example
 * ```ts
 * const db: Db = { client: dynamo(), table: 'parley' };
 * const store = onDb<StoreOf<'getConnection'>>(db, { getConnection });
 * await store.getConnection('c1');
 * ```
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';

/** The table and the client to reach it. */
export interface Db {
  client: DynamoDBDocumentClient;
  table: string;
}

/** Yields every page a paginated read gives, asking for the next from its `LastEvaluatedKey`. */
export async function* paged<P extends { LastEvaluatedKey?: Record<string, unknown> | undefined }>(
  read: (startKey: Record<string, unknown> | undefined) => Promise<P>,
): AsyncGenerator<P> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await read(startKey);
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

/** Yields every page of a `Query`, following `LastEvaluatedKey`. */
export const queryPages = (
  db: Db,
  input: Omit<QueryCommandInput, 'TableName'>,
): AsyncGenerator<QueryCommandOutput> =>
  paged((startKey) =>
    db.client.send(new QueryCommand({ ...input, TableName: db.table, ExclusiveStartKey: startKey })),
  );

/** Yields every item of a `Query`, page by page. */
export async function* queryAll<T>(db: Db, input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<T> {
  for await (const page of queryPages(db, input)) {
    for (const item of page.Items ?? []) yield item as T;
  }
}

/** Every item of an iterable, in an array. */
export const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

/** Whether a write failed because its condition did not hold. */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Runs a conditional update; `false` when its condition does not hold. */
export const updateIf = async (
  db: Db,
  key: Record<string, string>,
  update: { expression: string; condition: string; values: Record<string, number> },
): Promise<boolean> => {
  try {
    await db.client.send(
      new UpdateCommand({
        TableName: db.table,
        Key: key,
        UpdateExpression: update.expression,
        ConditionExpression: update.condition,
        ExpressionAttributeValues: update.values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

/**
 * Deletes `element` from the string set `attribute` of the item at `key`, and the item with it once
 * the set is empty (DynamoDB removes a set attribute whose last element is deleted). Creates no
 * item where there is none. The item's delete is conditional on the set still being absent, so an
 * element added in between is kept.
 */
export const removeFromSet = async (
  db: Db,
  key: Record<string, string>,
  attribute: string,
  element: string,
): Promise<void> => {
  let remaining: Record<string, unknown> | undefined;
  try {
    const result = await db.client.send(
      new UpdateCommand({
        TableName: db.table,
        Key: key,
        UpdateExpression: 'DELETE #set :element',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#set': attribute },
        ExpressionAttributeValues: { ':element': new Set([element]) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    remaining = result.Attributes ?? {};
  } catch (error) {
    if (isConditionFailure(error)) return;
    throw error;
  }
  if (remaining[attribute] !== undefined) return;
  try {
    await db.client.send(
      new DeleteCommand({
        TableName: db.table,
        Key: key,
        ConditionExpression: 'attribute_not_exists(#set)',
        ExpressionAttributeNames: { '#set': attribute },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
};

/**
 * The DynamoDB implementation of the store methods of `S`: each the entity module's function of
 * the same name, which takes the table first.
 */
export type OnDb<S> = {
  [K in keyof S]: S[K] extends (...args: infer A) => infer R ? (db: Db, ...args: A) => R : never;
};

/**
 * Binds entity functions to a table: the store methods `S` a handler calls, and only those. A
 * handler names the functions it needs, so its bundle holds those and nothing else of the store
 * (tree shaking keeps what is referenced), and its IAM policy can grant exactly their calls. `S`
 * is named (it cannot be inferred back from the functions); `defineRoute` and `withHandlerDeps`
 * take it from the logic's type.
 *
 * @example
 * ```ts
 * const store = onDb<StoreOf<'isMember' | 'listMembers'>>(db, { isMember, listMembers });
 * ```
 */
export const onDb = <S>(db: Db, functions: OnDb<S>): S =>
  Object.fromEntries(
    Object.entries(functions).map(([name, run]) => [
      name,
      (...args: unknown[]) => (run as (db: Db, ...rest: unknown[]) => unknown)(db, ...args),
    ]),
  ) as S;
