/**
 * The regional health check behind `GET /health` (what Route 53 polls): the region is healthy
 * when its replica answers the store's probe (a strongly consistent read of a fixed key).
 */
import { logger } from './logger.js';
import type { StoreOf } from './store/index.js';

/** The health answer, as the HTTP body. */
export type HealthStatus =
  | { status: 'ok'; region: string }
  | { status: 'unavailable'; region: string; reason: string };

/** Checks this region's replica; never throws. */
export const checkHealth = async (
  store: StoreOf<'probe'> | undefined,
  region: string,
): Promise<HealthStatus> => {
  if (store === undefined) return { status: 'unavailable', region, reason: 'the region is not configured' };
  try {
    await store.probe();
    return { status: 'ok', region };
  } catch (error) {
    // The answer is public (Route 53 and anyone else may read it): a generic reason, never the
    // AWS error text, which can carry account ids and ARNs. The log keeps the error.
    logger.error('health check failed', { error: error as Error });
    return { status: 'unavailable', region, reason: "this region's table did not answer" };
  }
};
