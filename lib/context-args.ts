/**
 * Reads `-c key=value` (`--context key=value`) assignments as the CDK CLI reads them, for the
 * project's own commands that take CDK context (`npm start`, `npm run bootstrap`): split at the
 * first `=`, the value kept as the string typed (the app's config parser takes strings for every
 * key), the last assignment of a key winning.
 */

/** The context of a list of assignments, or why one of them cannot be read. */
export type ContextArgs = { context: Record<string, string> } | { error: string };

/** Why an assignment cannot be read; undefined when it can. */
const malformed = (assignment: string): string | undefined => {
  const at = assignment.indexOf('=');
  if (at < 0) return 'has no "="';
  const key = assignment.slice(0, at);
  if (key.trim() === '') return 'has no key';
  // The CDK CLI refuses these as well: the toolkit's own settings live under `aws:`.
  if (key.startsWith('aws:')) return 'sets a key reserved by the CDK (aws:...)';
  return undefined;
};

/**
 * Parses the assignments. Where the CDK CLI warns and drops a malformed one, this refuses it, so a
 * command never runs without a setting its user meant to give.
 *
 * @example
 * ```ts
 * const parsed = parseContextArgs(['sendBurst=5']); // { context: { sendBurst: '5' } }
 * ```
 */
export const parseContextArgs = (assignments: readonly string[]): ContextArgs => {
  const context: Record<string, string> = {};
  for (const assignment of assignments) {
    const problem = malformed(assignment);
    if (problem !== undefined) {
      return { error: `-c/--context takes key=value, e.g. -c sendBurst=5; "${assignment}" ${problem}` };
    }
    const at = assignment.indexOf('=');
    context[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return { context };
};
