/**
 * The LocalStack path, tested up to what runs without a Docker engine: the compose file is valid
 * and has what Parley needs, `cdklocal synth` with LocalStack's environment synthesizes the app,
 * and `PARLEY_E2E_TARGET=localstack` points the end-to-end suite at a LocalStack deployment (its
 * outputs read, its endpoints rewritten, its tokens signed, the conformance file alone selected).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployedRegions, openTarget, targetKind } from '../e2e/target.js';
import { runProcess } from '../helpers/process.js';

const root = new URL('../../', import.meta.url).pathname;
const outDirs: string[] = [];

/** Runs a command of the project; resolves with its exit code and output. */
const run = async (command: string, args: string[], env: NodeJS.ProcessEnv) => {
  const { code, stdout, stderr } = await runProcess(command, args, env);
  return { code, output: stdout + stderr };
};

afterAll(() => {
  for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
});

interface ComposeService {
  image?: string;
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}

describe('LocalStack: docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services?: Record<string, ComposeService>;
  };
  const localstack = compose.services?.localstack;

  it('defines the localstack service with the services Parley deploys to', () => {
    // Assess
    expect(Object.keys(compose.services ?? {})).toEqual(['localstack']);
    expect(localstack?.image).toMatch(/^localstack\/localstack(-pro)?:/);
    const services = (localstack?.environment?.SERVICES ?? '').split(',');
    for (const needed of [
      'cloudformation',
      's3',
      'ssm',
      'iam',
      'sts',
      'dynamodb',
      'dynamodbstreams',
      'lambda',
      'sqs',
      'secretsmanager',
      'apigateway',
      'cloudwatch',
      'logs',
      'sns',
    ]) {
      expect(services).toContain(needed);
    }
  });

  it('requires the auth token, binds its ports to 127.0.0.1 and gives Lambda the Docker socket', () => {
    // Assess
    expect(localstack?.environment?.LOCALSTACK_AUTH_TOKEN).toMatch(/^\$\{LOCALSTACK_AUTH_TOKEN:\?.+\}$/);
    expect(localstack?.ports).toContain('127.0.0.1:4566:4566');
    expect(localstack?.ports?.every((port) => port.startsWith('127.0.0.1:'))).toBe(true);
    expect(localstack?.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(localstack?.healthcheck?.test?.join(' ')).toContain('/_localstack/health');
  });

  it('is what package.json deploys with cdklocal', () => {
    // Prepare
    const scripts = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;

    // Assess
    expect(scripts['localstack:up']).toContain('docker compose up');
    expect(scripts['localstack:deploy']).toContain('cdklocal bootstrap');
    expect(scripts['localstack:deploy']).toContain('cdklocal deploy --all');
  });
});

describe('LocalStack: cdklocal synth', () => {
  it('synthesizes both regional stacks with LocalStack endpoints', async () => {
    // Prepare
    const outDir = mkdtempSync(join(root, '.local', 'cdklocal-'));
    outDirs.push(outDir);

    // Act
    const { code, output } = await run(
      join(root, 'node_modules', '.bin', 'cdklocal'),
      ['synth', '--quiet', '-c', 'regions=us-east-1,eu-west-1', '-o', outDir],
      {
        ...process.env,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_S3: 'http://s3.localhost.localstack.cloud:4566',
        CDK_DEFAULT_ACCOUNT: '000000000000',
        CDK_DEFAULT_REGION: 'us-east-1',
      },
    );

    // Assess
    expect(code, output.slice(-2_000)).toBe(0);
    expect(readFileSync(join(outDir, 'Parley-eu-west-1.template.json'), 'utf8')).toContain(
      'AWS::Lambda::Function',
    );
    const template = JSON.parse(readFileSync(join(outDir, 'Parley-us-east-1.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const resources = Object.values(template.Resources);
    expect(
      resources.some(
        (resource) =>
          resource.Type === 'AWS::ApiGatewayV2::Api' && resource.Properties?.ProtocolType === 'WEBSOCKET',
      ),
    ).toBe(true);
    expect(resources.some((resource) => resource.Type === 'AWS::DynamoDB::GlobalTable')).toBe(true);
    expect(resources.filter((resource) => resource.Type === 'AWS::Lambda::Function').length).toBeGreaterThan(
      10,
    );
  }, 300_000);
});

describe('LocalStack: the end-to-end suite as a target', () => {
  // What `cdk deploy --outputs-file` writes for the two regional stacks (ids as LocalStack makes them).
  const outputs = {
    'Parley-us-east-1': {
      WebSocketUrl: 'wss://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod',
      HealthUrl: 'https://f6g7h8.execute-api.us-east-1.amazonaws.com/health',
    },
    'Parley-eu-west-1': { WebSocketUrl: 'wss://z9y8x7w6v5.execute-api.eu-west-1.amazonaws.com/prod' },
    CDKToolkit: { BucketName: 'cdk-assets' },
  };

  it('reads the regions from the deploy outputs and rewrites the URLs to LocalStack host names', () => {
    // Act
    const localstack = deployedRegions(outputs, 'localstack', 'http://127.0.0.1:4566');
    const aws = deployedRegions(outputs, 'aws');

    // Assess
    expect(localstack).toEqual([
      {
        region: 'us-east-1',
        webSocketUrl: 'ws://a1b2c3d4e5.execute-api.localhost.localstack.cloud:4566/prod',
      },
      {
        region: 'eu-west-1',
        webSocketUrl: 'ws://z9y8x7w6v5.execute-api.localhost.localstack.cloud:4566/prod',
      },
    ]);
    expect(aws.map((r) => r.webSocketUrl)).toEqual([
      'wss://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod',
      'wss://z9y8x7w6v5.execute-api.eu-west-1.amazonaws.com/prod',
    ]);
    expect(() => deployedRegions({ CDKToolkit: {} }, 'localstack')).toThrow(/no Parley-<region> stack/);
    expect(() => deployedRegions({ 'Parley-us-east-1': {} }, 'aws')).toThrow(
      /Parley-us-east-1 has no WebSocketUrl/,
    );
  });

  it('opens a LocalStack target from the outputs file, with tokens signed by the given secret', async () => {
    // Prepare
    const dir = mkdtempSync(join(root, '.local', 'e2e-target-'));
    outDirs.push(dir);
    const file = join(dir, 'outputs.json');
    writeFileSync(file, JSON.stringify(outputs));

    // Act
    const target = await openTarget({
      PARLEY_E2E_TARGET: 'localstack',
      PARLEY_E2E_OUTPUTS: file,
      PARLEY_JWT_SECRET: 'the-stack-secret',
    });
    const token = await target.token('alice');

    // Assess
    expect(target).toMatchObject({ kind: 'localstack', regions: ['us-east-1', 'eu-west-1'] });
    expect(target.endpoint('eu-west-1')).toBe(
      'ws://z9y8x7w6v5.execute-api.localhost.localstack.cloud:4566/prod',
    );
    const verified = await jwtVerify(token, new TextEncoder().encode('the-stack-secret'), {
      algorithms: ['HS256'],
    });
    expect(verified.payload.sub).toBe('alice');
    await expect(
      openTarget({ PARLEY_E2E_TARGET: 'localstack', PARLEY_E2E_OUTPUTS: join(dir, 'missing.json') }),
    ).rejects.toThrow(/no outputs file .*missing\.json; run npm run localstack:deploy first/);
    expect(() => targetKind({ PARLEY_E2E_TARGET: 'staging' })).toThrow(
      /must be local, localstack or aws, got "staging"/,
    );
  });

  it('selects the conformance file alone when PARLEY_E2E_TARGET=localstack', async () => {
    // Act
    const { code, output } = await run(
      process.execPath,
      [
        join(root, 'node_modules', 'vitest', 'vitest.mjs'),
        'list',
        '--filesOnly',
        '--project',
        'e2e',
        '--project',
        'chaos',
      ],
      { ...process.env, PARLEY_E2E_TARGET: 'localstack' },
    );

    // Assess
    expect(code, output).toBe(0);
    expect(output.match(/test\/e2e\/\S+\.test\.ts/g)).toEqual(['test/e2e/conformance.test.ts']);
  }, 120_000);
});
