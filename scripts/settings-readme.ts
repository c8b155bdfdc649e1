/**
 * `npm run settings:readme`: writes the README's configuration table from the settings table
 * (`lib/settings.ts`), between its `settings:begin` and `settings:end` markers, then formats the
 * README as the linter wants it. `test/infra/settings.test.ts` fails when the two differ.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceSettingsSection } from '../lib/settings-doc.js';

const ROOT = join(import.meta.dirname, '..');
const readme = join(ROOT, 'README.md');
writeFileSync(readme, replaceSettingsSection(readFileSync(readme, 'utf8')));
const format = spawnSync('npx', ['biome', 'format', '--write', 'README.md'], { cwd: ROOT, stdio: 'inherit' });
process.exitCode = format.status ?? 1;
