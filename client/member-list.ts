/**
 * A joined room's member list as the client knows it: the members the server last listed (in
 * `joined` or a presence reply), kept current by the room's presence events.
 *
 * @example
 * ```ts
 * const members = new MemberList();
 * members.reset([{ user: 'alice', region: 'us-east-1' }]);
 * members.apply('join', { user: 'bob', region: 'eu-west-1' });
 * members.list(); // alice and bob
 * ```
 */
import type { Member } from '../protocol/index.js';

/** One room's members. */
export class MemberList {
  #members: Member[] = [];

  /** The members, in the order they were listed or joined. */
  public list(): Member[] {
    return [...this.#members];
  }

  /** Replaces the list with what the server listed. */
  public reset(members: readonly Member[]): void {
    this.#members = [...members];
  }

  /** A member joined or left the room. */
  public apply(event: 'join' | 'leave', member: Member): void {
    const index = this.#members.findIndex((m) => m.user === member.user && m.region === member.region);
    if (event === 'join') {
      // A member that resumes a room on the same connection is announced again: list it once.
      if (index < 0) this.#members.push({ user: member.user, region: member.region });
    } else if (index >= 0) {
      this.#members.splice(index, 1);
    }
  }
}
