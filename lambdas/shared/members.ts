/**
 * The member lists of `joined` and `presence`: one page of at most {@link MAX_MEMBERS_LISTED}
 * present members (distinct `(user, region)`, ordered by user, then region), those the liveness
 * rule keeps (`liveness.ts`), with `memberCount` and, when more follow, the opaque `next` token
 * that `presence {after}` takes back.
 *
 * Bounded work: one `Query` of 101 items, the liveness reads of the listed members' connections,
 * and, only when the room has more members than one page, one `Select COUNT` of at most
 * {@link MEMBER_COUNT_MAX} items. `memberCount` applies the liveness rule to the listed members;
 * the others are counted as stored (a member whose region went down counts until its entries
 * expire or its region removes them).
 *
 * @example
 * ```ts
 * const page = await memberPage(deps, 'lobby'); // { members: [{ user, region }], memberCount: 1 }
 * ```
 */
import { MAX_MEMBERS_LISTED, type Member, ORIGIN_PATTERN } from '../../protocol/index.js';
import type { HandlerDeps, RouteStore } from './deps.js';
import { BadRequestError } from './errors.js';
import { liveMembers } from './liveness.js';
import type { MemberItem, MemberKey } from './store/index.js';

/** The most members `memberCount` counts: a larger room reports this many. */
export const MEMBER_COUNT_MAX = 50_000;

/** A page of members as `joined` and `presence` carry it. */
export interface MemberPage {
  members: Member[];
  memberCount: number;
  next?: string;
}

/** The `next` token of a page that ended at `last`. */
export const pageToken = (last: MemberKey): string =>
  Buffer.from(JSON.stringify([last.user, last.region]), 'utf8').toString('base64url');

/**
 * The member a `next` token names.
 *
 * @throws BadRequestError when `token` is not one this server gave.
 */
export const parsePageToken = (token: string): MemberKey => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === 'string' &&
    parsed[0].length > 0 &&
    typeof parsed[1] === 'string' &&
    ORIGIN_PATTERN.test(parsed[1])
  ) {
    return { user: parsed[0], region: parsed[1] };
  }
  throw new BadRequestError('after must be the next of an earlier presence reply');
};

/** The store methods a member page reads. */
export type MemberPageStore = RouteStore<'presentMembers' | 'countPresent' | 'lastSeenOf'>;

/** One page of the room's members, after the member `after` names (a `next` token) when given. */
export const memberPage = async (
  deps: Pick<HandlerDeps<MemberPageStore>, 'store' | 'region' | 'connections' | 'config' | 'now'>,
  room: string,
  after?: string,
): Promise<MemberPage> => {
  const from = after === undefined ? undefined : parsePageToken(after);
  const { members, last } = await deps.store.presentMembers(room, { limit: MAX_MEMBERS_LISTED, after: from });
  const connections: MemberItem[] = members.flatMap((member) =>
    member.connectionIds.map((connectionId) => ({
      room,
      user: member.user,
      region: member.region,
      connectionId,
      joinedAt: 0,
    })),
  );
  const live = new Set(
    (await liveMembers(deps, connections)).map((item) => `${item.user}\u0001${item.region}`),
  );
  const listed = members
    .filter((member) => live.has(`${member.user}\u0001${member.region}`))
    .map(({ user, region }) => ({ user, region }));
  const memberCount =
    from === undefined && last === undefined
      ? listed.length
      : Math.max(
          listed.length,
          (await deps.store.countPresent(room, MEMBER_COUNT_MAX)) - (members.length - listed.length),
        );
  return { members: listed, memberCount, ...(last === undefined ? {} : { next: pageToken(last) }) };
};
