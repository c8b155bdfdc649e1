/**
 * The README's configuration table, generated from the settings table (`lib/settings.ts`), and
 * how to find it in the README (between two HTML comments).
 */
import { allowedText } from './setting-values.js';
import { SETTING_KEYS, SETTINGS, type SettingSpec } from './settings.js';

/** The README's configuration table (Markdown), generated from {@link SETTINGS}. */
export const settingsTable = (): string => {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = SETTING_KEYS.map((key) => {
    const spec: SettingSpec = SETTINGS[key];
    const shown =
      spec.kind === 'custom'
        ? spec.shownDefault
        : 'default' in spec && spec.default !== undefined
          ? String(spec.default)
          : undefined;
    const environment = spec.env === undefined ? '' : `\`${spec.env.name}\``;
    return `| \`${key}\` | ${shown === undefined ? 'none' : `\`${shown}\``} | ${cell(allowedText(spec))} | ${environment} | ${cell(spec.doc)} |`;
  });
  return [
    '| key | default | allowed | handler variable | what it does |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
};

/** The comment before the generated table. */
export const SETTINGS_BEGIN =
  '<!-- settings:begin (generated from lib/settings.ts by npm run settings:readme; edit the table there) -->';
/** The comment after it. */
export const SETTINGS_END = '<!-- settings:end -->';

/** The README's text with the section between the markers replaced by the generated table. */
export const replaceSettingsSection = (readme: string): string => {
  const begin = readme.indexOf(SETTINGS_BEGIN);
  const end = readme.indexOf(SETTINGS_END);
  if (begin < 0 || end < begin)
    throw new Error(`the README has no ${SETTINGS_BEGIN} ... ${SETTINGS_END} section`);
  return `${readme.slice(0, begin + SETTINGS_BEGIN.length)}\n\n${settingsTable()}\n\n${readme.slice(end)}`;
};

/** A Markdown table's rows as trimmed cells (alignment padding and the separator row left out). */
export const tableCells = (markdown: string): string[][] =>
  markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );

/** The cells of the README's generated section. */
export const readmeSettingsCells = (readme: string): string[][] => {
  const begin = readme.indexOf(SETTINGS_BEGIN);
  const end = readme.indexOf(SETTINGS_END);
  return begin < 0 || end < begin ? [] : tableCells(readme.slice(begin + SETTINGS_BEGIN.length, end));
};
