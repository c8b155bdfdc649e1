/**
 * A joined room's members as the client knows them: the members the server last listed (in
 * `joined` or the first page of a presence reply; at most 100 from a v1.1 server) and the room's
 * member count it reported with them, both kept current by the room's presence events.
 *
 * @example
 * ```ts
 * const members = new MemberList();
 * members.reset([{ user: 'alice', region: 'us-east-1' }], 1_500);
 * members.onPresence({ type: 'presence', room: 'lobby', event: 'join', user: 'bob', region: 'eu-west-1' });
 * members.list(); // alice and bob
 * members.count; // 1,501
 * ```
 */
import type { Member, PresenceReplyFrame } from '../protocol/index.js';
import type { PresenceEvent } from './types.js';

/** One room's members. */
export class MemberList {
  #members: Member[] = [];
  /** The count the server reported, kept current; undefined from a server that reports none (v1). */
  #count: number | undefined;

  /** The members, in the order they were listed or joined. */
  public list(): Member[] {
    return [...this.#members];
  }

  /**
   * How many members the room has: the count the server reported, kept current by presence
   * events (exact again with the next `joined` or presence reply), or the number listed from a
   * server that reports none. Never less than the number listed.
   */
  public get count(): number {
    return Math.max(this.#count ?? 0, this.#members.length);
  }

  /** {@link MemberList.count}, if the server reported one. */
  public get reportedCount(): number | undefined {
    return this.#count === undefined ? undefined : this.count;
  }

  /** Replaces the list, and the count, with what the server reported. */
  public reset(members: readonly Member[], count: number | undefined): void {
    this.#members = [...members];
    this.#count = count;
  }

  /**
   * A presence frame that answers no request: a member joined or left (returned as the event to
   * emit), or a fresh member list.
   */
  public onPresence(frame: PresenceReplyFrame): PresenceEvent | undefined {
    const { room, event, user } = frame;
    if (event === undefined || user === undefined) {
      if (frame.members !== undefined) this.reset(frame.members, frame.memberCount);
      return undefined;
    }
    const region = frame.region ?? '';
    const index = this.#members.findIndex((m) => m.user === user && m.region === region);
    // A member already listed that joins is announced again (it resumed the room): no change. One
    // not listed that leaves was among those counted but not listed, if the list was cut; else it
    // is one the client never saw, and nothing changes.
    const cut = this.#count !== undefined && this.#count > this.#members.length;
    if (event === 'join' && index < 0) {
      this.#members.push({ user, region });
      if (this.#count !== undefined) this.#count += 1;
    } else if (event === 'leave' && (index >= 0 || cut)) {
      if (index >= 0) this.#members.splice(index, 1);
      if (this.#count !== undefined) this.#count -= 1;
    }
    return { room, event, user, region, members: this.list() };
  }
}
