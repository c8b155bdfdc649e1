/**
 * Room access rules from the token's `rooms` claim (patterns with `*`): read once by the
 * authorizer, applied by every route that names a room. They need no table; Parley's limits that
 * are kept in the table (each action's rate, rooms per connection, connections per user) are in the
 * store (`lambdas/shared/store/`), the rates applied by `lambdas/shared/rates.ts`.
 *
 * @example
 * ```ts
 * if (!roomAllowed(parseRoomsClaim(payload.rooms), 'team-red')) throw new ForbiddenError('not your room');
 * ```
 */

/** Longest accepted `rooms` claim, in patterns. */
export const MAX_ROOM_PATTERNS = 100;

const patternPart = /^[A-Za-z0-9_.:*-]{1,128}$/;

/**
 * Reads a token's `rooms` claim: `undefined` when absent (every room allowed); an array of
 * patterns when valid.
 *
 * @throws Error when present but not an array of at most 100 patterns of room characters and `*`.
 */
export const parseRoomsClaim = (claim: unknown): string[] | undefined => {
  if (claim === undefined) return undefined;
  if (
    !Array.isArray(claim) ||
    claim.length > MAX_ROOM_PATTERNS ||
    !claim.every((pattern) => typeof pattern === 'string' && patternPart.test(pattern))
  ) {
    throw new Error('the rooms claim must be an array of at most 100 room patterns');
  }
  return claim as string[];
};

/**
 * Whether `room` matches `pattern`, where `*` matches any run of characters, even none. The
 * pattern's literal parts are placed greedily, each at its leftmost place after the one before,
 * which is correct for patterns whose only wildcard is `*` and takes time linear in the lengths:
 * a regular expression built from the pattern backtracks, and `*a` repeated 12 times took 88 s
 * to match.
 */
export const matchesPattern = (pattern: string, room: string): boolean => {
  const parts = pattern.split('*');
  const first = parts[0] as string;
  if (parts.length === 1) return room === first;
  const last = parts[parts.length - 1] as string;
  if (room.length < first.length + last.length || !room.startsWith(first) || !room.endsWith(last))
    return false;
  let at = first.length;
  const end = room.length - last.length;
  for (const part of parts.slice(1, -1)) {
    if (part === '') continue;
    const found = room.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
};

/** Whether `room` matches one of `patterns` (`*` matches any run of characters, even none). */
export const roomAllowed = (patterns: readonly string[] | undefined, room: string): boolean =>
  patterns === undefined || patterns.some((pattern) => matchesPattern(pattern, room));
