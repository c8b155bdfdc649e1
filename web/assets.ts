/**
 * The web chat page's assets, built in memory: `index.html`, `style.css`, and `app.ts` bundled with
 * the client SDK by esbuild into one browser module. The local stack serves them at
 * `http://127.0.0.1:4510/`; nothing is written to disk.
 *
 * @example
 * ```ts
 * const assets = await buildWebAssets();
 * assets['/app.js']?.contentType; // 'text/javascript; charset=utf-8'
 * ```
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** One served file. */
export interface WebAsset {
  contentType: string;
  body: string | Uint8Array;
}

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

/**
 * Builds the page's assets, keyed by URL path: `/` (the HTML), `/app.js` and `/style.css`.
 * Throws when the bundle does not build (a type-free syntax or resolution error in app.ts).
 */
export const buildWebAssets = async (): Promise<Record<string, WebAsset>> => {
  const [html, css, bundle] = await Promise.all([
    readFile(here('./index.html'), 'utf8'),
    readFile(here('./style.css'), 'utf8'),
    build({
      entryPoints: [here('./app.ts')],
      // Names the outputs (app.js, app.js.map); with write: false nothing reaches the disk.
      outfile: here('./app.js'),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      // A separate map: the browser fetches it only when the developer tools are open.
      sourcemap: 'linked',
      legalComments: 'none',
      logLevel: 'silent',
    }),
  ]);
  const script = bundle.outputFiles.find((file) => file.path.endsWith('.js'));
  const map = bundle.outputFiles.find((file) => file.path.endsWith('.js.map'));
  if (script === undefined) throw new Error('esbuild produced no output for web/app.ts');
  return {
    '/': { contentType: 'text/html; charset=utf-8', body: html },
    '/index.html': { contentType: 'text/html; charset=utf-8', body: html },
    '/app.js': { contentType: 'text/javascript; charset=utf-8', body: script.text },
    ...(map !== undefined ? { '/app.js.map': { contentType: 'application/json', body: map.text } } : {}),
    '/style.css': { contentType: 'text/css; charset=utf-8', body: css },
  };
};
