import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  findRedriveFunction,
  parseRedriveArgs,
  redriveAws,
  redriveLocal,
  UsageError,
} from '../../../scripts/redrive.js';

const lambdaMock = mockClient(LambdaClient);
/** A Lambda payload as the SDK returns it (a Uint8Array with string helpers). */
const payload = (text: string) => new TextEncoder().encode(text) as InvokeCommandOutput['Payload'];
const result = { kind: 'delivery', queueUrl: 'q', received: 2, replayed: 2, failed: 0 };

afterEach(() => {
  lambdaMock.reset();
});

describe('CLI: npm run redrive (arguments)', () => {
  it('reads the region, the queue by kind or URL, the maximum and the endpoint', () => {
    // Act + Assess
    expect(parseRedriveArgs(['--region', 'eu-west-1'])).toEqual({
      region: 'eu-west-1',
      input: { kind: 'delivery' },
      stackName: 'Parley-eu-west-1',
    });
    expect(parseRedriveArgs(['--region=us-east-1', '--queue', 'stream', '--max', '5'])).toMatchObject({
      input: { kind: 'stream', max: 5 },
    });
    expect(
      parseRedriveArgs([
        '--region',
        'us-east-1',
        '--queue',
        'http://127.0.0.1:9324/000000000000/parley-stream-dlq',
      ]),
    ).toMatchObject({
      input: { kind: 'stream', queueUrl: 'http://127.0.0.1:9324/000000000000/parley-stream-dlq' },
    });
    expect(
      parseRedriveArgs(['--region', 'us-east-1', '--queue', 'https://sqs/1/dlq', '--kind', 'delivery']),
    ).toMatchObject({ input: { kind: 'delivery', queueUrl: 'https://sqs/1/dlq' } });
    expect(
      parseRedriveArgs(['--region', 'us-east-1', '--endpoint', 'http://127.0.0.1:8080/', '--function', 'fn']),
    ).toMatchObject({ endpoint: 'http://127.0.0.1:8080', functionName: 'fn' });
    expect(parseRedriveArgs(['--region', 'us-east-1', '--endpoint', 'ws://127.0.0.1:4510/'])).toMatchObject({
      endpoint: 'http://127.0.0.1:4510',
    });
  });

  it.each([
    [[], /--region is required/],
    [['--region', 'mars'], /region name/],
    [['--region', 'us-east-1', '--queue', 'fanout'], /--queue must be/],
    [['--region', 'us-east-1', '--max', '0'], /--max must be a positive integer/],
    [['--region', 'us-east-1', '--max'], /--max needs a value/],
    [['--region', 'us-east-1', '--kind', 'both'], /--kind must be/],
    [['--region', 'us-east-1', '--endpoint', 'localhost'], /--endpoint must be/],
    [['--region', 'us-east-1', '--force'], /unknown option/],
  ])('refuses %j', (argv, message) => {
    // Act + Assess
    expect(() => parseRedriveArgs(argv)).toThrow(UsageError);
    expect(() => parseRedriveArgs(argv)).toThrow(message);
  });
});

describe('CLI: npm run redrive (AWS)', () => {
  it('finds the stack redrive function across pages and invokes it with the input', async () => {
    // Prepare
    lambdaMock
      .on(ListFunctionsCommand)
      .resolvesOnce({ Functions: [{ FunctionName: 'Parley-us-east-1-SendFn1A2B' }], NextMarker: 'm' })
      .resolvesOnce({
        Functions: [{ FunctionName: 'Parley-us-east-1-RedriveFnC3D4' }, { FunctionName: 'Other-Redrive' }],
      });
    lambdaMock.on(InvokeCommand).resolves({ Payload: payload(JSON.stringify(result)) });
    const args = parseRedriveArgs(['--region', 'us-east-1', '--queue', 'delivery', '--max', '3']);

    // Act
    const outcome = await redriveAws(args, new LambdaClient({ region: 'us-east-1' }));

    // Assess
    expect(outcome).toEqual(result);
    const input = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('Parley-us-east-1-RedriveFnC3D4');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      kind: 'delivery',
      max: 3,
    });
  });

  it('asks for --function when no single candidate exists, and reports a failed invocation', async () => {
    // Prepare
    lambdaMock.on(ListFunctionsCommand).resolves({ Functions: [] });
    lambdaMock
      .on(InvokeCommand)
      .resolves({ FunctionError: 'Unhandled', Payload: payload('{"errorMessage":"boom"}') });
    const client = new LambdaClient({ region: 'us-east-1' });

    // Act + Assess
    await expect(findRedriveFunction(client, 'Parley-us-east-1')).rejects.toThrow(/pass --function/);
    await expect(
      redriveAws(parseRedriveArgs(['--region', 'us-east-1', '--function', 'fn']), client),
    ).rejects.toThrow(/fn failed: .*boom/);
  });
});

describe('CLI: npm run redrive (local stack endpoint)', () => {
  let server: Server;
  let endpoint: string;
  const requests: { url: string | undefined; body: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ url: request.url, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        const known = request.url === '/_local/regions/us-east-1/redrive';
        response
          .writeHead(known ? 200 : 404, { 'content-type': 'application/json' })
          .end(JSON.stringify(known ? result : { message: 'unknown region' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the input to the region redrive path and reports an unknown region', async () => {
    // Act
    const outcome = await redriveLocal({
      ...parseRedriveArgs(['--region', 'us-east-1', '--queue', 'stream', '--endpoint', endpoint]),
      endpoint,
    });
    const unknown = redriveLocal({
      ...parseRedriveArgs(['--region', 'eu-west-1', '--endpoint', endpoint]),
      endpoint,
    });

    // Assess
    expect(outcome).toEqual(result);
    await expect(unknown).rejects.toThrow(/404: unknown region/);
    expect(requests[0]).toEqual({ url: '/_local/regions/us-east-1/redrive', body: { kind: 'stream' } });
  });
});
