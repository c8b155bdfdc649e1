/**
 * The regional health check behind `GET /health` (what Route 53 polls): the region is healthy
 * when its replica answers the store's probe (a strongly consistent read of a fixed key).
 */
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
  if (store === undefined) return { status: 'unavailable', region, reason: 'TABLE_NAME is not configured' };
  try {
    await store.probe();
    return { status: 'ok', region };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { status: 'unavailable', region, reason };
  }
};
