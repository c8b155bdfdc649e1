/**
 * The regional health check behind `GET /health` (what Route 53 polls): the region is healthy
 * when its replica answers a strongly consistent `GetItem` on a fixed key. A read, rather than
 * `DescribeTable`, because it exercises the same path (and the same permissions) as the handlers.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './repository.js';

/** The key read by the health check; no item needs to exist there. */
export const HEALTH_KEY = { pk: 'HEALTH', sk: 'HEALTH' } as const;

/** The health answer, as the HTTP body. */
export type HealthStatus =
  | { status: 'ok'; region: string }
  | { status: 'unavailable'; region: string; reason: string };

/** Checks this region's replica; never throws. */
export const checkHealth = async (db: Db | undefined, region: string): Promise<HealthStatus> => {
  if (db === undefined) return { status: 'unavailable', region, reason: 'TABLE_NAME is not configured' };
  try {
    await db.client.send(new GetCommand({ TableName: db.table, Key: HEALTH_KEY, ConsistentRead: true }));
    return { status: 'ok', region };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { status: 'unavailable', region, reason };
  }
};
