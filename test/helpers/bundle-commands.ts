/**
 * The AWS SDK commands a handler's bundle sends: the handler is bundled with the options of every
 * deployed bundle (`lib/constructs/handler-bundling.ts`) except identifier minification, so that
 * tree shaking leaves exactly the code the handler can reach and each `new <Name>Command(` keeps
 * its name; each such construction is mapped back through the source map, and only those written
 * in Parley's own sources count (the SDK's packages construct commands of their own that a
 * handler never sends, such as every command class of the document client).
 */
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../../lib/constructs/handler-bundling.js';

/** The repository root. */
const ROOT = join(import.meta.dirname, '..', '..');

/** The command class names a handler's own code constructs, e.g. `GetCommand`, `PostToConnectionCommand`. */
export const commandsSentBy = async (entry: string): Promise<Set<string>> => {
  const result = await build({
    ...handlerBuildOptions(ROOT),
    entryPoints: [join(ROOT, entry)],
    minify: false,
    sourcemap: 'external',
    write: false,
    outdir: join(ROOT, '.local', 'bundle-commands'),
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'))?.text ?? '';
  const mapText = result.outputFiles.find((file) => file.path.endsWith('.js.map'))?.text ?? '{}';
  const map = new SourceMap(JSON.parse(mapText));
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number): { line: number; column: number } => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low, column: offset - (lineStarts[low] as number) };
  };
  const sent = new Set<string>();
  for (const match of code.matchAll(/new ([A-Za-z0-9_$]+?Command)(?:\d+)?\(/g)) {
    const { line, column } = position(match.index);
    const source = map.findEntry(line, column);
    const file = 'originalSource' in source ? String(source.originalSource) : '';
    if (/\/lambdas\//.test(file)) sent.add((match[1] as string).replace(/\$$/, ''));
  }
  return sent;
};
