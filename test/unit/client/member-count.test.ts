/**
 * Member counts and paging (PROTOCOL.md, "Limits", "Members"): `joined` and `presence` list at most
 * 100 members and carry `memberCount`; `presence` pages with `after` and the reply's `next`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BadRequestError } from '../../../client/errors.js';
import { MAX_PAGE_TOKEN_LENGTH } from '../../../protocol/index.js';
import type { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, type Harness, openNext } from './harness.js';

const alice = { user: 'alice', region: 'us-east-1' };
const bob = { user: 'bob', region: 'eu-west-1' };
const carol = { user: 'carol', region: 'us-east-1' };

describe('Client: member counts', () => {
  let harness: Harness;
  let socket: FakeWebSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    harness = createHarness({ pingIntervalMs: 3_600_000 });
    socket = await openNext();
  });

  afterEach(() => {
    harness.client.close();
    vi.useRealTimers();
  });

  /** Joins lobby, answered with `members` and, when given, `memberCount`. */
  const join = (members: unknown[], memberCount?: number) => {
    const joined = harness.client.join('lobby');
    const frame = socket.take('join');
    socket.reply({
      type: 'joined',
      ref: frame.ref,
      room: 'lobby',
      cursor: {},
      members,
      ...(memberCount === undefined ? {} : { memberCount }),
    });
    return joined;
  };

  const presence = (event: 'join' | 'leave', member: { user: string; region: string }): void => {
    socket.reply({ type: 'presence', room: 'lobby', event, ...member });
  };

  it('gives the count of a cut list in the join result, the joined event and memberCount(room)', async () => {
    // Act
    const result = await join([alice, bob], 1_500);

    // Assess
    expect(result).toEqual({ room: 'lobby', cursor: {}, members: [alice, bob], memberCount: 1_500 });
    expect(harness.joined[0]).toMatchObject({ members: [alice, bob], memberCount: 1_500 });
    expect(harness.client.members('lobby')).toEqual([alice, bob]);
    expect(harness.client.memberCount('lobby')).toBe(1_500);
    await expect(harness.client.join('lobby')).resolves.toMatchObject({ memberCount: 1_500 });
  });

  it('has no count in the join result from a server that sends none, and counts the list', async () => {
    // Act
    const result = await join([alice, bob]);

    // Assess
    expect(result).toEqual({ room: 'lobby', cursor: {}, members: [alice, bob] });
    expect(harness.joined[0]).not.toHaveProperty('memberCount');
    expect(harness.client.memberCount('lobby')).toBe(2);
    expect(harness.client.memberCount('elsewhere')).toBe(0);
  });

  it('keeps the count current from presence events, for members beyond a cut list too', async () => {
    // Prepare: one listed of three
    await join([alice], 3);
    const counts: number[] = [];
    const count = (): void => {
      counts.push(harness.client.memberCount('lobby'));
    };

    // Act
    presence('join', bob);
    count(); // a new member: 4
    presence('join', bob);
    count(); // announced again: still 4
    presence('leave', carol);
    count(); // one of those not listed: 3
    presence('leave', alice);
    count(); // a listed one: 2
    presence('leave', { user: 'dave', region: 'us-east-1' });
    count(); // the last one not listed: 1, bob alone
    presence('leave', { user: 'erin', region: 'us-east-1' });
    count(); // nobody not listed is left to leave: still 1

    // Assess
    expect(counts).toEqual([4, 4, 3, 2, 1, 1]);
    expect(harness.client.members('lobby')).toEqual([bob]);
  });

  it('pages presence with after and next, and counts every page; the first page refreshes the members', async () => {
    // Prepare
    await join([alice], 1);

    // Act
    const firstPage = harness.client.presencePage('lobby');
    const first = socket.take('presence');
    socket.reply({
      type: 'presence',
      ref: first.ref,
      room: 'lobby',
      members: [alice, bob],
      memberCount: 3,
      next: 'p2',
    });
    const page1 = await firstPage;
    const secondPage = harness.client.presencePage('lobby', { after: 'p2' });
    const second = socket.take('presence');
    socket.reply({ type: 'presence', ref: second.ref, room: 'lobby', members: [carol], memberCount: 3 });
    const page2 = await secondPage;

    // Assess
    expect(first).toEqual({ action: 'presence', room: 'lobby', ref: expect.any(String) });
    expect(page1).toEqual({ room: 'lobby', members: [alice, bob], memberCount: 3, next: 'p2' });
    expect(second).toEqual({ action: 'presence', room: 'lobby', after: 'p2', ref: expect.any(String) });
    expect(page2).toEqual({ room: 'lobby', members: [carol], memberCount: 3 });
    expect(harness.client.members('lobby')).toEqual([alice, bob]);
    expect(harness.client.memberCount('lobby')).toBe(3);
  });

  it('counts the members listed when a presence reply carries no count (a v1 server)', async () => {
    // Prepare
    await join([alice], 1);

    // Act
    const asked = harness.client.presencePage('lobby');
    socket.reply({
      type: 'presence',
      ref: socket.take('presence').ref,
      room: 'lobby',
      members: [alice, bob],
    });

    // Assess
    await expect(asked).resolves.toEqual({ room: 'lobby', members: [alice, bob], memberCount: 2 });
    expect(harness.client.memberCount('lobby')).toBe(2);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(MAX_PAGE_TOKEN_LENGTH + 1)],
  ])('refuses an after that is %s, without sending anything', async (_, after) => {
    // Prepare
    await join([alice], 1);

    // Act
    const page = harness.client.presencePage('lobby', { after });

    // Assess
    await expect(page).rejects.toBeInstanceOf(BadRequestError);
    expect(socket.framesOf('presence')).toEqual([]);
  });
});
