/**
 * What the conformance suite (`test/e2e/conformance.test.ts`) talks to, chosen by one variable:
 *
 * - `PARLEY_E2E_TARGET=local` (default): the local stack, started by the suite on free ports.
 * - `PARLEY_E2E_TARGET=localstack`: a deployment made by `npm run localstack:deploy`; endpoints
 *   from its outputs file (`.local/localstack-outputs.json`), rewritten to LocalStack's
 *   `execute-api` host names; the HS256 secret read from LocalStack's Secrets Manager.
 * - `PARLEY_E2E_TARGET=aws`: a real deployment (`npx cdk deploy --all --outputs-file
 *   .local/aws-outputs.json`); the secret read with the default AWS credentials.
 *
 * Optional: `PARLEY_E2E_OUTPUTS` (another outputs file), `PARLEY_JWT_SECRET` (the signing secret,
 * instead of reading it from Secrets Manager), `AWS_ENDPOINT_URL` (LocalStack's address, default
 * `http://127.0.0.1:4566`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { JWT_SECRET_NAME } from '../../lib/config.js';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from './helpers.js';

/** The kinds of target. */
export type TargetKind = 'local' | 'localstack' | 'aws';

/** A running Parley the suite can reach over WebSocket only. */
export interface E2eTarget {
  kind: TargetKind;
  /** Region names, the primary first. */
  regions: string[];
  /** The WebSocket URL of a region, without the token. */
  endpoint(region: string): string;
  /** A token for `user` (expired when `expiresInSeconds` is negative). */
  token(user: string, expiresInSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');
const DEFAULT_OUTPUTS: Record<Exclude<TargetKind, 'local'>, string> = {
  localstack: join(ROOT, '.local', 'localstack-outputs.json'),
  aws: join(ROOT, '.local', 'aws-outputs.json'),
};

/** The target kind `PARLEY_E2E_TARGET` names. @throws Error for an unknown value. */
export const targetKind = (env: NodeJS.ProcessEnv = process.env): TargetKind => {
  const value = env.PARLEY_E2E_TARGET ?? 'local';
  if (value === '' || value === 'local') return 'local';
  if (value === 'localstack' || value === 'aws') return value;
  throw new Error(`PARLEY_E2E_TARGET must be local, localstack or aws, got "${value}"`);
};

/** One region of a deployment, from `cdk deploy --outputs-file`. */
export interface DeployedRegion {
  region: string;
  webSocketUrl: string;
}

/**
 * Reads the regions and WebSocket URLs of a deployment from a `cdk deploy --outputs-file` document
 * (`{"Parley-<region>": {"WebSocketUrl": ...}}`), in the order the regions were deployed. With
 * `localstack`, `wss://<api>.execute-api.<region>.amazonaws.com/<stage>` becomes LocalStack's
 * `ws://<api>.execute-api.localhost.localstack.cloud:<port>/<stage>`.
 *
 * @throws Error naming what is missing.
 */
export const deployedRegions = (
  outputs: unknown,
  kind: Exclude<TargetKind, 'local'>,
  localstackEndpoint = 'http://127.0.0.1:4566',
): DeployedRegion[] => {
  if (typeof outputs !== 'object' || outputs === null)
    throw new Error('the outputs file is not a JSON object');
  const regions: DeployedRegion[] = [];
  for (const [stackName, values] of Object.entries(outputs as Record<string, Record<string, unknown>>)) {
    const match = /^Parley-([a-z]{2}(?:-[a-z]+)+-\d)$/.exec(stackName);
    if (!match) continue;
    const url = values?.WebSocketUrl;
    if (typeof url !== 'string') throw new Error(`stack ${stackName} has no WebSocketUrl output`);
    const parsed = new URL(url);
    if (kind === 'localstack') {
      const apiId = parsed.hostname.split('.')[0];
      const port = new URL(localstackEndpoint).port || '4566';
      parsed.protocol = 'ws:';
      parsed.hostname = `${apiId}.execute-api.localhost.localstack.cloud`;
      parsed.port = port;
    }
    regions.push({ region: match[1] as string, webSocketUrl: parsed.toString() });
  }
  if (regions.length === 0) throw new Error('the outputs file has no Parley-<region> stack');
  return regions;
};

const signer =
  (secret: string) =>
  (user: string, expiresInSeconds = 3_600): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(new TextEncoder().encode(secret));
  };

const fromLocalStack = (stack: LocalStack): E2eTarget => ({
  kind: 'local',
  regions: stack.regions.map((region) => region.name),
  endpoint: (region) => {
    const url = stack.endpoints.regions[region];
    if (url === undefined) throw new Error(`unknown region ${region}`);
    return url;
  },
  token: (user, expiresInSeconds) => stack.token(user, expiresInSeconds),
  stop: () => stack.stop(),
});

/** Starts (local) or finds (deployed) the target `PARLEY_E2E_TARGET` names. */
export const openTarget = async (env: NodeJS.ProcessEnv = process.env): Promise<E2eTarget> => {
  const kind = targetKind(env);
  if (kind === 'local') return fromLocalStack(await startTestStack());
  const file = env.PARLEY_E2E_OUTPUTS ?? DEFAULT_OUTPUTS[kind];
  if (!existsSync(file)) {
    throw new Error(
      `PARLEY_E2E_TARGET=${kind}: no outputs file ${file}; ${
        kind === 'localstack'
          ? 'run npm run localstack:deploy first'
          : 'deploy with --outputs-file, or set PARLEY_E2E_OUTPUTS'
      }`,
    );
  }
  const localstackEndpoint = env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
  const regions = deployedRegions(JSON.parse(readFileSync(file, 'utf8')), kind, localstackEndpoint);
  const primary = regions[0]?.region as string;
  let secret = env.PARLEY_JWT_SECRET;
  if (secret === undefined || secret === '') {
    const client = new SecretsManagerClient({
      region: primary,
      ...(kind === 'localstack'
        ? { endpoint: localstackEndpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
        : {}),
    });
    secret = (await client.send(new GetSecretValueCommand({ SecretId: JWT_SECRET_NAME }))).SecretString;
    client.destroy();
    if (secret === undefined) throw new Error(`secret ${JWT_SECRET_NAME} has no string value`);
  }
  const urls = new Map(regions.map((r) => [r.region, r.webSocketUrl]));
  return {
    kind,
    regions: regions.map((r) => r.region),
    endpoint: (region) => {
      const url = urls.get(region);
      if (url === undefined) throw new Error(`unknown region ${region}`);
      return url;
    },
    token: signer(secret),
    stop: async () => undefined,
  };
};
