/**
 * `GET /health` (HTTP API, payload v2): 200 `{status: "ok", region}` when this region's replica
 * answers, else 503 `{status: "unavailable", region, reason}`. Route 53 health checks poll it.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { tableOf } from '../shared/deps.js';
import { optionalEnv } from '../shared/env.js';
import { checkHealth } from '../shared/health.js';
import { baseMiddlewares } from '../shared/route.js';
import { onDb, probe, type StoreOf } from '../shared/store/index.js';

/** Answers a health request for the store of a table (or none, when unconfigured). */
export const health = async (
  store: StoreOf<'probe'> | undefined,
  region: string,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const status = await checkHealth(store, region);
  return {
    statusCode: status.status === 'ok' ? 200 : 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(status),
  };
};

/** The HTTP handler. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(baseMiddlewares())
  .handler(() => {
    const table = optionalEnv('TABLE_NAME');
    return health(
      table === undefined ? undefined : onDb<StoreOf<'probe'>>(tableOf(table), { probe }),
      optionalEnv('AWS_REGION') ?? 'unknown',
    );
  });
