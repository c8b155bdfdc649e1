/** The DynamoDB proxy's capacity meter (the benchmarks' cost model), through the real SDK client. */
import { GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { CapacityMeter } from '../../../local/capacity-meter.js';
import { FaultController } from '../../../local/fault-controller.js';
import { type ProxyOverStub, startProxyOverStub } from '../../helpers/proxy-stub.js';

describe('DynamoDbProxy: capacity meter', () => {
  let running: ProxyOverStub | undefined;
  afterEach(async () => {
    await running?.stop();
  });

  /** An upstream that records each body and answers with the capacity DynamoDB would report. */
  const start = async (meter: CapacityMeter | undefined) => {
    const bodies: Record<string, unknown>[] = [];
    running = await startProxyOverStub(
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          bodies.push(body);
          const transact = String(req.headers['x-amz-target']).endsWith('TransactWriteItems');
          const consumed = transact
            ? [{ TableName: 't', CapacityUnits: 6 }]
            : { TableName: 't', CapacityUnits: 0.5 };
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(body.ReturnConsumedCapacity ? { ConsumedCapacity: consumed } : {}));
        });
      },
      { faults: new FaultController(), ...(meter ? { meter } : {}) },
    );
    return { client: running.client, bodies };
  };

  it('asks for the total consumed capacity and counts reads and writes per region and operation', async () => {
    const meter = new CapacityMeter();
    const { client, bodies } = await start(meter);
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [{ Put: { TableName: 't', Item: { pk: { S: 'a' } } } }],
      }),
    );
    expect(bodies.map((body) => body.ReturnConsumedCapacity)).toEqual(['TOTAL', 'TOTAL']);
    expect(meter.snapshot()).toEqual({
      'eu-west-1': {
        calls: 2,
        readUnits: 0.5,
        writeUnits: 6,
        byOperation: {
          GetItem: { calls: 1, readUnits: 0.5, writeUnits: 0 },
          TransactWriteItems: { calls: 1, readUnits: 0, writeUnits: 6 },
        },
      },
    });
    meter.reset();
    expect(meter.snapshot()).toEqual({});
    client.destroy();
  });

  it('without a meter passes the request body on unchanged', async () => {
    const { client, bodies } = await start(undefined);
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    expect(bodies[0]).not.toHaveProperty('ReturnConsumedCapacity');
    client.destroy();
  });
});
