/**
 * Cold start: each handler bundled as `cdk synth` bundles it (esbuild with the options of
 * `lib/constructs/handler-bundling.ts`: ESM, Node 22, minified, the AWS SDK inside with its default
 * credential chain replaced; and, as `ParleyFunction` asks for, a linked source map without
 * sources), its size, and the time its module takes to load and initialise in a fresh Node.js 22
 * process (what a Lambda cold start spends in `import`, before the first event).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../lib/constructs/handler-bundling.js';
import { BENCH_HANDLER_NAMES, HANDLER_NAMES } from '../lib/constructs/parley-function.js';
import { ROOT } from './harness.js';
import { type Figure, figure } from './stats.js';

const run = promisify(execFile);

export interface ColdStartResult {
  handler: string;
  bytes: number;
  initMs: Figure;
  /** The largest contributors to the bundle (package or source folder, bytes in the output). */
  topInputs: { input: string; bytes: number }[];
}

/**
 * The child: loads the bundle and prints how long the import took. The environment a handler
 * reads at call time is set so nothing differs from a Lambda container's first import.
 */
const PROBE = `
const started = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));
`;

/** Bytes in the output by npm package (or by source folder), largest first. */
const topInputs = (inputs: Record<string, { bytesInOutput: number }>): { input: string; bytes: number }[] => {
  const byPackage = new Map<string, number>();
  for (const [file, info] of Object.entries(inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = match?.[1] ?? file.split('/').slice(0, 2).join('/');
    byPackage.set(key, (byPackage.get(key) ?? 0) + info.bytesInOutput);
  }
  return [...byPackage]
    .map(([input, bytes]) => ({ input, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
};

/** Bundles every handler and times its init `runs` times, each in a new process. */
export const runColdStart = async (runs: number): Promise<ColdStartResult[]> => {
  const outDir = join(tmpdir(), `parley-bench-bundles-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  try {
    const handlers = [...HANDLER_NAMES, ...BENCH_HANDLER_NAMES];
    const built = await build({
      metafile: true,
      absWorkingDir: ROOT,
      entryPoints: Object.fromEntries(handlers.map((h) => [h, join(ROOT, 'lambdas', 'handlers', `${h}.ts`)])),
      outdir: outDir,
      outExtension: { '.js': '.mjs' },
      ...handlerBuildOptions(ROOT),
      // What `ParleyFunction` asks `cdk synth` for (`sourceMapMode: DEFAULT`, no sources content):
      // the map is a file of its own, linked by a comment, so the bundle's size is the code's; the
      // import runs without `--enable-source-maps`, as a deployed handler does by default.
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'silent',
    });
    const results: ColdStartResult[] = [];
    for (const handler of handlers) {
      const file = join(outDir, `${handler}.mjs`);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { stdout } = await run(
          process.execPath,
          ['--input-type=module', '-e', PROBE, pathToFileURL(file).href],
          {
            env: {
              PATH: process.env.PATH ?? '',
              AWS_REGION: 'us-east-1',
              AWS_LAMBDA_FUNCTION_NAME: handler,
              POWERTOOLS_SERVICE_NAME: 'parley',
              POWERTOOLS_METRICS_NAMESPACE: 'Parley',
            },
          },
        );
        times.push(Number(stdout));
      }
      results.push({
        handler,
        bytes: statSync(file).size,
        initMs: figure(times),
        topInputs: topInputs(built.metafile.outputs[relative(ROOT, file)]?.inputs ?? {}),
      });
    }
    return results;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
};
