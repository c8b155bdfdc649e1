/**
 * The Powertools logger shared by every handler: structured JSON lines with the Lambda context
 * (request id, cold start) added by the `injectLambdaContext` middleware.
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** Parley's logger (service name `parley`; level from `POWERTOOLS_LOG_LEVEL`, default INFO). */
export const logger = new Logger({ serviceName: 'parley' });
