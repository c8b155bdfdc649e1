/**
 * A room's member list as people read it: one entry per user, with the regions of its connections
 * (a user connected twice, or from two regions, is one person). The web page and the terminal chat
 * both show members this way.
 *
 * @example
 * ```ts
 * groupMembers([
 *   { user: 'bob', region: 'eu-west-1' },
 *   { user: 'alice', region: 'us-east-1' },
 *   { user: 'bob', region: 'us-east-1' },
 * ]);
 * // [{ user: 'alice', regions: ['us-east-1'] }, { user: 'bob', regions: ['eu-west-1', 'us-east-1'] }]
 * unlistedCount(2, 1_500); // 1,498: a v1.1 server lists at most 100 members
 * moreMembers(1_498); // '1,498 more', as in "alice, bob and 1,498 more"
 * ```
 */
import type { Member } from '../protocol/index.js';

/** One user in a room, and the regions its connections are in (each once, in the order listed). */
export interface MemberGroup {
  user: string;
  regions: string[];
}

/** Groups a member list by user, the users sorted by name. */
export const groupMembers = (members: readonly Member[]): MemberGroup[] => {
  const byUser = new Map<string, Set<string>>();
  for (const member of members) {
    const regions = byUser.get(member.user) ?? new Set<string>();
    regions.add(member.region);
    byUser.set(member.user, regions);
  }
  return [...byUser.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([user, regions]) => ({ user, regions: [...regions] }));
};

/**
 * How many members a cut list leaves out: the room's `memberCount` beyond the `listed` members (0
 * when the list is whole, or when the server gave no count).
 */
export const unlistedCount = (listed: number, memberCount: number | undefined): number =>
  Math.max(0, (memberCount ?? listed) - listed);

/** `1,498 more`: the members a cut list leaves out, as the page and the terminal chat say it. */
export const moreMembers = (unlisted: number): string => `${unlisted.toLocaleString('en-US')} more`;
