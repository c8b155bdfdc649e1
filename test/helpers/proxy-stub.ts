/**
 * The local DynamoDB proxy in front of a stand-in upstream on 127.0.0.1, with a real SDK client
 * that calls through it: for unit tests of the proxy (faults, region routing, capacity metering).
 */
import { createServer, type RequestListener } from 'node:http';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDbProxy, type DynamoDbProxyOptions } from '../../local/dynamodb-proxy.js';

/** A running proxy over a stub; `stop` closes the proxy, then the stub. */
export interface ProxyOverStub {
  client: DynamoDBClient;
  stop: () => Promise<void>;
}

/**
 * Starts `upstream` on a free port, a proxy with `options` in front of it, and a client of that
 * proxy (`clientConfig` on top of a region and static local credentials).
 */
export const startProxyOverStub = async (
  upstream: RequestListener,
  options: Omit<DynamoDbProxyOptions, 'target' | 'log'>,
  clientConfig: DynamoDBClientConfig = {},
): Promise<ProxyOverStub> => {
  const server = createServer(upstream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const proxy = new DynamoDbProxy({ target: `http://127.0.0.1:${port}`, log: () => undefined, ...options });
  await proxy.listen();
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: proxy.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...clientConfig,
  });
  return {
    client,
    stop: async () => {
      client.destroy();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
