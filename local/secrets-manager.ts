/**
 * The local Secrets Manager: the handlers' real `SecretsManagerClient` reaches it through
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`, so the authorizer fetches its signing key with
 * `GetSecretValue` locally as it does on AWS, with the `SecretId` the template gives it.
 *
 * `SecretId` is resolved as Secrets Manager documents it (API reference, `GetSecretValue`,
 * `SecretId`; user guide, troubleshooting, "ARN_secretnamehyphen"): a name, a complete ARN, or a
 * partial ARN (the ARN without the `-` and six random characters that Secrets Manager appends).
 * An ARN whose last part ends in a hyphen and six characters is read as a complete ARN, so the
 * partial ARN of a secret whose *name* ends that way (`parley/jwt-signing-secret`) finds nothing.
 * That rule is the reason this server exists: moto 5.2.5, the emulator on PyPI, resolves a partial
 * ARN by taking the text after its last colon as the name, and would resolve exactly the
 * identifier that AWS refuses.
 *
 * Each region keeps its own secrets, keyed by the region the request was signed for, as a replica
 * of a replicated secret lives in its own region with its own ARN.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { signedRegion } from './sigv4.js';

/** One stored secret of one region. */
export interface LocalSecret {
  name: string;
  /** `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`. */
  arn: string;
  region: string;
  value: string;
}

/** Characters Secrets Manager appends to a secret's name in its ARN (six of them, after a hyphen). */
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random ARN suffix, as Secrets Manager makes one (`-` and six characters). */
export const randomArnSuffix = (): string =>
  `-${[...randomBytes(6)].map((byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join('')}`;

/**
 * Whether an ARN's resource part ends as a complete secret ARN does: a hyphen and six characters.
 * Secrets Manager applies this test to any ARN it is given, whatever the secret's name.
 */
export const looksComplete = (resource: string): boolean => /-[^-]{6}$/.test(resource);

const ARN_PATTERN = /^arn:([^:]+):secretsmanager:([^:]*):([^:]*):secret:(.+)$/;

/**
 * Finds the secret a `SecretId` names among one region's secrets, by Secrets Manager's rules: an
 * identifier that is not an ARN is a name; an ARN whose last part ends in a hyphen and six
 * characters must equal a secret's ARN; any other ARN is partial and must equal a secret's ARN
 * without its suffix.
 */
export const resolveSecretId = (
  secretId: string,
  secrets: readonly LocalSecret[],
): LocalSecret | undefined => {
  const arn = ARN_PATTERN.exec(secretId);
  if (arn === null) return secrets.find((secret) => secret.name === secretId);
  const resource = arn[4] as string;
  if (looksComplete(resource)) return secrets.find((secret) => secret.arn === secretId);
  return secrets.find((secret) => secret.arn.slice(0, -7) === secretId);
};

/** Options of {@link LocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /** The account id in every ARN. */
  accountId: string;
  log?: (line: string) => void;
}

/** A `GetSecretValue` the server answered, for tests. */
export interface SecretRequest {
  operation: string;
  region: string | undefined;
  secretId: string;
  found: boolean;
}

const JSON_TYPE = 'application/x-amz-json-1.1';

/**
 * A Secrets Manager endpoint on 127.0.0.1 that serves `GetSecretValue` (the AWS JSON 1.1
 * protocol the SDK speaks), the one call the handlers make, for the secrets the local stack
 * creates from the template. Anything else is refused, so a handler that starts calling another
 * operation fails here before it fails on AWS for want of a permission.
 */
export class LocalSecretsManager {
  private readonly server: Server;
  private readonly secrets: LocalSecret[] = [];
  private port = 0;
  /** Every request answered, oldest first. */
  readonly requests: SecretRequest[] = [];

  constructor(private readonly options: LocalSecretsManagerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        options.log?.(`[secrets] ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) this.fail(res, 500, 'InternalServiceError', 'internal error');
      });
    });
  }

  /** `http://127.0.0.1:<port>` once listening. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Stores a secret in a region (a primary or a replica), with a fresh random ARN suffix, and
   * returns it.
   */
  create(region: string, name: string, value: string): LocalSecret {
    const secret: LocalSecret = {
      name,
      region,
      value,
      arn: `arn:aws:secretsmanager:${region}:${this.options.accountId}:secret:${name}${randomArnSuffix()}`,
    };
    this.secrets.push(secret);
    return secret;
  }

  /** The secrets of one region. */
  inRegion(region: string): LocalSecret[] {
    return this.secrets.filter((secret) => secret.region === region);
  }

  /** Listens on a free port of 127.0.0.1. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private fail(res: ServerResponse, status: number, type: string, message: string): void {
    const body = JSON.stringify({ __type: type, message, Message: message });
    res.writeHead(status, {
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const region = signedRegion(req.headers.authorization);
    let input: { SecretId?: unknown };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: unknown };
    } catch {
      return this.fail(res, 400, 'InvalidRequestException', 'the request body is not JSON');
    }
    if (operation !== 'GetSecretValue') {
      return this.fail(
        res,
        400,
        'InvalidRequestException',
        `${operation || 'no operation'} is not served locally`,
      );
    }
    if (typeof input.SecretId !== 'string' || input.SecretId === '') {
      return this.fail(res, 400, 'InvalidParameterException', 'SecretId is required');
    }
    const secret = region === undefined ? undefined : resolveSecretId(input.SecretId, this.inRegion(region));
    this.requests.push({ operation, region, secretId: input.SecretId, found: secret !== undefined });
    if (secret === undefined) {
      // The text AWS answers for a SecretId it cannot resolve.
      return this.fail(
        res,
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    const body = JSON.stringify({
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: '00000000-0000-4000-8000-000000000000',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 0,
    });
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
