/** The error `cdk synth` stops with on a bad setting. */

/**
 * A configuration value that the app cannot deploy. The message names the key, the value and what
 * is allowed, so `cdk synth` tells the user exactly what to fix.
 */
export class ConfigError extends Error {
  /** The offending context key. */
  public readonly key: string;

  public constructor(key: string, value: unknown, allowed: string) {
    super(`Invalid context value for "${key}": ${describe(value)}. Allowed: ${allowed}.`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
