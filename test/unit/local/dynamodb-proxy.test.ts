/**
 * The DynamoDB fault proxy in front of a stand-in upstream, called through the real DynamoDB SDK
 * client: pass-through, DynamoDB's own throttling and server errors, strong mode's region routing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultController } from '../../../local/fault-controller.js';
import { signedRegion } from '../../../local/sigv4.js';
import { type ProxyOverStub, startProxyOverStub } from '../../helpers/proxy-stub.js';

describe('DynamoDbProxy', () => {
  let running: ProxyOverStub | undefined;
  afterEach(async () => {
    await running?.stop();
  });

  /** An upstream that records each request's headers and answers an empty GetItem. */
  const start = async (faults: FaultController, routeRegion?: (r: string) => string) => {
    const seen: IncomingHttpHeaders[] = [];
    running = await startProxyOverStub(
      (req, res) => {
        seen.push(req.headers);
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end('{}');
        });
      },
      { faults, ...(routeRegion ? { routeRegion } : {}) },
      { maxAttempts: 1 },
    );
    const { client } = running;
    const get = () =>
      client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }));
    return { seen, client, get };
  };

  it('passes calls through when no fault fires', async () => {
    const { seen, client, get } = await start(new FaultController());
    expect((await get()).Item).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(signedRegion(seen[0]?.authorization)).toBe('eu-west-1');
    client.destroy();
  });

  it('answers throttling and server errors as DynamoDB does, without reaching the upstream', async () => {
    const faults = new FaultController(() => 0);
    faults.set({ dynamodb: { throttle: 1 } });
    const { seen, client, get } = await start(faults);
    await expect(get()).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    faults.set({ dynamodb: { throttle: 0, error: 1 } });
    await expect(get()).rejects.toMatchObject({
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500 },
    });
    expect(seen).toHaveLength(0);
    client.destroy();
  });

  it('routes a region to another region (strong mode) by rewriting the signed region', async () => {
    const { seen, client, get } = await start(new FaultController(), () => 'us-east-1');
    await get();
    expect(signedRegion(seen[0]?.authorization)).toBe('us-east-1');
    client.destroy();
  });
});
