/**
 * The shape of a row of the settings table (`lib/settings.ts`): a setting's kind, range or
 * pattern, default, environment binding and description. In a module of its own so the table's
 * module holds the table; no CDK import, as the handlers' bundles carry it.
 */
/** Which functions get a setting's environment variable. */
export type EnvScope = 'all' | 'authorizer';

/** How a setting reaches the handlers. */
export interface EnvBinding {
  /** The variable's name. */
  readonly name: string;
  /** @default 'all' */
  readonly scope?: EnvScope;
}

interface Common {
  /** One line: what the setting does (the README's description). */
  readonly doc: string;
  readonly env?: EnvBinding;
}

/** One setting's type, range and default. */
export type SettingSpec = Common &
  (
    | {
        readonly kind: 'integer' | 'number';
        readonly min: number;
        readonly max: number;
        readonly default: number;
      }
    | { readonly kind: 'boolean'; readonly default: boolean }
    | { readonly kind: 'enum'; readonly values: readonly string[]; readonly default: string }
    | {
        readonly kind: 'string';
        readonly pattern: RegExp;
        /** What is allowed, in words (the error's and the README's). */
        readonly allowed: string;
        readonly default?: string;
      }
    | {
        /** Parsed by its own code in `lib/config.ts` (lists, keys that go together, ARNs...). */
        readonly kind: 'custom';
        readonly allowed: string;
        /** The default as the README shows it. */
        readonly shownDefault?: string;
      }
  );
