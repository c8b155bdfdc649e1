/**
 * The deploy-time custom resource of each region's stack (CloudFormation invokes it through the
 * CDK's Provider framework): the replica stream ARN lookup and the primary region's preflight.
 * See `lambdas/shared/deploy-check.ts`.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { type DeployCheckEvent, type DeployCheckResult, handleDeployCheck } from '../shared/deploy-check.js';
import { logger } from '../shared/logger.js';
import { sleep } from '../shared/retry.js';
import { baseMiddlewares } from '../shared/route.js';

const dynamodb = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
const cloudformation = new CloudFormationClient({});

/** The custom resource handler. */
export const handler = middy<DeployCheckEvent, DeployCheckResult>()
  .use(baseMiddlewares())
  .handler(async (event) => {
    logger.info('deploy check', {
      requestType: event.RequestType,
      operation: event.ResourceProperties.Operation,
    });
    return handleDeployCheck(
      {
        dynamodb,
        secrets,
        cloudformation,
        now: Date.now,
        sleep,
      },
      event,
    );
  });
