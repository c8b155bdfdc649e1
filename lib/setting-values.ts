/**
 * What the settings table's values mean: the words for what a setting allows, the parser of a
 * value given as JSON or as a string (from `-c key=value` or the environment), and the defaults.
 */
import { SETTINGS, type SettingKey, type SettingSpec, type SettingValue } from './settings.js';

/** What a setting allows, in words: the error message's "Allowed: ..." and the README's. */
export const allowedText = (spec: SettingSpec): string => {
  switch (spec.kind) {
    case 'integer':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'number':
      return `a number from ${spec.min} to ${spec.max}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return spec.values.map((value) => `"${value}"`).join(' or ');
    default:
      return spec.allowed;
  }
};

/** Why a value is not allowed, or `undefined` when it is; `value` as given (a string from `-c` or the environment, or JSON). */
export type ParsedSetting<T> = { ok: true; value: T } | { ok: false };

/**
 * Parses a value of a table-parsed setting: strings are accepted for every kind (they come from
 * `-c key=value` and from the environment).
 */
export const parseSettingValue = <K extends SettingKey>(
  key: K,
  value: unknown,
): ParsedSetting<SettingValue<K>> => {
  const spec: SettingSpec = SETTINGS[key];
  const text = typeof value === 'string' ? value.trim() : value;
  switch (spec.kind) {
    case 'integer':
    case 'number': {
      const number =
        typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : Number.NaN;
      const fits = Number.isFinite(number) && number >= spec.min && number <= spec.max;
      if (!fits || (spec.kind === 'integer' && !Number.isInteger(number))) return { ok: false };
      return { ok: true, value: number as SettingValue<K> };
    }
    case 'boolean':
      if (text === true || text === 'true') return { ok: true, value: true as SettingValue<K> };
      if (text === false || text === 'false') return { ok: true, value: false as SettingValue<K> };
      return { ok: false };
    case 'enum':
      return typeof text === 'string' && spec.values.includes(text)
        ? { ok: true, value: text as SettingValue<K> }
        : { ok: false };
    case 'string':
      return typeof text === 'string' && spec.pattern.test(text)
        ? { ok: true, value: text as SettingValue<K> }
        : { ok: false };
    default:
      throw new Error(`setting ${key} is parsed by lib/config.ts, not by the table`);
  }
};

/** The default of a table-parsed setting, `undefined` when it has none (it is optional). */
export const settingDefault = <K extends SettingKey>(key: K): SettingValue<K> | undefined => {
  const spec: SettingSpec = SETTINGS[key];
  return 'default' in spec ? (spec.default as SettingValue<K> | undefined) : undefined;
};
