/**
 * The LocalStack path, tested up to what runs without a Docker engine: the compose file is valid
 * and has what Parley needs, and `cdklocal synth` with LocalStack's environment synthesizes the app.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const outDirs: string[] = [];

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
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(
        join(root, 'node_modules', '.bin', 'cdklocal'),
        ['synth', '--quiet', '-c', 'regions=us-east-1,eu-west-1', '-o', outDir],
        {
          cwd: root,
          env: {
            ...process.env,
            AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
            AWS_ENDPOINT_URL_S3: 'http://s3.localhost.localstack.cloud:4566',
            CDK_DEFAULT_ACCOUNT: '000000000000',
            CDK_DEFAULT_REGION: 'us-east-1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve({ code: exitCode, output: text }));
    });

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
