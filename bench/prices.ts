/**
 * AWS's published on-demand prices, us-east-1, as listed on the services' pricing pages on the
 * date given (free tiers left out). The README repeats them.
 */

/** One price: US dollars per `unit`. */
export interface Price {
  usd: number;
  unit: string;
  /** When the price was read from AWS's pricing page (and since when it applies, if known). */
  asOf: string;
  source: string;
}

export const PRICES = {
  dynamoDbWrite: {
    usd: 0.625 / 1e6,
    unit: 'write request unit (on-demand)',
    asOf: '2026-11-24 (in effect since 2024-11-01)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoDbRead: {
    usd: 0.125 / 1e6,
    unit: 'read request unit (on-demand)',
    asOf: '2026-11-24 (in effect since 2024-11-01)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoDbReplicatedWrite: {
    usd: 0.625 / 1e6,
    unit: 'replicated write request unit (global tables, on-demand)',
    asOf: '2026-11-24 (in effect since 2024-11-01)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoDbStreamsRead: {
    usd: 0.02 / 1e5,
    unit: 'streams read request unit; 0 for GetRecords by Lambda triggers and by global tables replication',
    asOf: '2026-11-24',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  lambdaRequest: {
    usd: 0.2 / 1e6,
    unit: 'Lambda request',
    asOf: '2026-11-24',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'Lambda GB-second, arm64 (first 7.5 billion GB-s a month)',
    asOf: '2026-11-24',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  apiGatewayMessage: {
    usd: 1.0 / 1e6,
    unit: 'WebSocket message, either direction, per 32 KB (first billion a month)',
    asOf: '2026-11-24',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  apiGatewayConnectionMinute: {
    usd: 0.25 / 1e6,
    unit: 'WebSocket connection minute',
    asOf: '2026-11-24',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
} as const satisfies Record<string, Price>;

/** What one measured window of traffic used, per message sent. */
export interface Usage {
  readUnits: number;
  writeUnits: number;
  /** Writes copied to the other replicas: each region's writes times the other regions. */
  replicatedWriteUnits: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  /** Frames through API Gateway, both directions (all under 32 KB here). */
  apiGatewayMessages: number;
  connectionMinutes: number;
}

/** Cost in US dollars of `usage`, by part and in total. */
export const price = (usage: Usage): Record<keyof Usage | 'total', number> => {
  const parts = {
    readUnits: usage.readUnits * PRICES.dynamoDbRead.usd,
    writeUnits: usage.writeUnits * PRICES.dynamoDbWrite.usd,
    replicatedWriteUnits: usage.replicatedWriteUnits * PRICES.dynamoDbReplicatedWrite.usd,
    lambdaRequests: usage.lambdaRequests * PRICES.lambdaRequest.usd,
    lambdaGbSeconds: usage.lambdaGbSeconds * PRICES.lambdaArmGbSecond.usd,
    apiGatewayMessages: usage.apiGatewayMessages * PRICES.apiGatewayMessage.usd,
    connectionMinutes: usage.connectionMinutes * PRICES.apiGatewayConnectionMinute.usd,
  };
  return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
};
