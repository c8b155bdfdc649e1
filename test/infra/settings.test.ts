/**
 * The settings table is the one source of every setting: the README's table is generated from it,
 * the stacks give the handlers exactly the variables it binds, the handlers read each of them back
 * with the table's range, and `cdk.json` holds only its keys.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readSetting } from '../../lambdas/shared/env.js';
import { ConfigError, environmentOf, parseConfig } from '../../lib/config.js';
import { SETTING_KEYS, SETTINGS, type SettingKey, type SettingSpec } from '../../lib/settings.js';
import { readmeSettingsCells, settingsTable, tableCells } from '../../lib/settings-doc.js';
import { CDK_JSON_CONTEXT, CONFIGURATIONS, synth, templateOf } from './synth.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const spec = (key: SettingKey): SettingSpec => SETTINGS[key];

describe('Settings: one table', () => {
  it("the README's configuration table is the generated one (npm run settings:readme)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readmeSettingsCells(readme)).toEqual(tableCells(settingsTable()));
    expect(
      tableCells(settingsTable())
        .slice(1)
        .map((row) => row[0]),
    ).toEqual(SETTING_KEYS.map((key) => `\`${key}\``));
  });

  it('cdk.json sets nothing but settings', () => {
    for (const key of Object.keys(CDK_JSON_CONTEXT)) expect(SETTING_KEYS).toContain(key);
  });

  it.each(['default', 'jwks'] as const)(
    'the %s stacks give each function exactly the variables the table binds, with the parsed values',
    (name) => {
      const app = synth(CONFIGURATIONS[name]);
      const bound = new Set(
        SETTING_KEYS.flatMap((key) => (spec(key).env === undefined ? [] : [spec(key).env?.name])),
      );
      const expected = {
        all: environmentOf(app.config, 'all'),
        authorizer: environmentOf(app.config, 'authorizer'),
      };
      for (const fn of Object.values(templateOf(app, 'eu-west-1').findResources('AWS::Lambda::Function'))) {
        const handler = fn.Metadata?.['parley:handler'];
        if (handler === undefined || fn.Metadata?.['parley:deployTime'] === true) continue;
        const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
        const settingVariables = Object.fromEntries(Object.entries(variables).filter(([k]) => bound.has(k)));
        expect(settingVariables).toEqual(
          handler === 'authorizer' ? { ...expected.all, ...expected.authorizer } : expected.all,
        );
      }
    },
  );

  it('a handler reads back every variable the table binds, with its default and its range', () => {
    for (const key of SETTING_KEYS) {
      const setting = spec(key);
      if (setting.env === undefined || setting.kind === 'custom') continue;
      delete process.env[setting.env.name];
      if ('default' in setting && setting.default !== undefined)
        expect(readSetting(key)).toBe(setting.default);
      if (setting.kind === 'integer') {
        process.env[setting.env.name] = String(setting.max);
        expect(readSetting(key)).toBe(setting.max);
        process.env[setting.env.name] = String(setting.max + 1);
        expect(() => readSetting(key)).toThrow(setting.env.name);
        process.env[setting.env.name] = String(setting.min - 1);
        expect(() => readSetting(key)).toThrow(setting.env.name);
      }
      if (setting.kind === 'enum') {
        process.env[setting.env.name] = 'not-a-value';
        expect(() => readSetting(key)).toThrow(setting.env.name);
      }
    }
  });

  it('the context parser refuses, for every bounded setting, the value just past its range', () => {
    for (const key of SETTING_KEYS) {
      const setting = spec(key);
      if (setting.kind !== 'integer' && setting.kind !== 'number') continue;
      // A quota large enough for any reservation, so a reservation's own range is what is tested.
      const quota = (k: string) => (k === 'lambdaConcurrencyQuota' ? '1000000' : undefined);
      expect(() => parseConfig((k) => (k === key ? setting.max + 1 : quota(k)))).toThrow(ConfigError);
      const config = parseConfig((k) => (k === key ? String(setting.max) : quota(k)));
      // The token checks are grouped under auth; every other one is a field of its own.
      expect({ ...config, ...config.auth }).toMatchObject({ [key]: setting.max });
    }
  });
});
