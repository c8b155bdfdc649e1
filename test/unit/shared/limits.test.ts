import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern, parseRoomsClaim, roomAllowed } from '../../../lambdas/shared/limits.js';
import { callerOf } from '../../../lambdas/shared/websocket.js';
import { routeEvent } from '../../helpers/events.js';

describe('Shared: room access rules', () => {
  it.each([
    [['lobby'], 'lobby', true],
    [['lobby'], 'lobby2', false],
    [['team-*'], 'team-red', true],
    [['team-*'], 'team-', true],
    [['team-*'], 'xteam-red', false],
    [['*'], 'anything', true],
    [['a.b'], 'aXb', false],
    [['org:*:chat'], 'org:42:chat', true],
    [[], 'lobby', false],
    [undefined, 'lobby', true],
  ])('roomAllowed(%j, %s) is %s', (patterns, room, expected) => {
    // Act + Assess
    expect(roomAllowed(patterns, room)).toBe(expected);
  });

  it('parseRoomsClaim accepts an absent claim or an array of patterns and refuses anything else', () => {
    // Act + Assess
    expect(parseRoomsClaim(undefined)).toBeUndefined();
    expect(parseRoomsClaim(['a', 'b-*'])).toEqual(['a', 'b-*']);
    for (const bad of ['a', [1], ['a b'], [''], {}, Array.from({ length: 101 }, () => 'a')]) {
      expect(() => parseRoomsClaim(bad)).toThrow(/rooms claim/);
    }
  });

  it('callerOf reads the serialized rooms claim and allows nothing when it is unreadable', () => {
    // Prepare
    const event = routeEvent('ping', { action: 'ping' });
    const withRooms = (rooms: unknown) => ({
      ...event,
      requestContext: { ...event.requestContext, authorizer: { user: 'alice', rooms } },
    });

    // Act + Assess
    expect(callerOf(event).rooms).toBeUndefined();
    expect(callerOf(withRooms('["a-*"]')).rooms).toEqual(['a-*']);
    expect(callerOf(withRooms('{nope')).rooms).toEqual([]);
    expect(callerOf(withRooms('[1]')).rooms).toEqual([]);
  });
});

describe('Room patterns: linear matching', () => {
  /** The rule as a regular expression, for comparison on inputs small enough not to backtrack long. */
  const reference = (pattern: string, room: string): boolean =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'))
        .join('.*')}$`,
    ).test(room);

  it('agrees with the regular-expression reading of the rule', () => {
    const text = fc.stringMatching(/^[ab*]{0,8}$/);
    fc.assert(
      fc.property(text, fc.stringMatching(/^[ab]{0,10}$/), (pattern, room) => {
        expect(matchesPattern(pattern, room)).toBe(reference(pattern, room));
      }),
      { numRuns: 2_000 },
    );
  });

  it('answers the pattern that made the regular expression backtrack for 88 s', () => {
    const pattern = '*a'.repeat(12);
    expect(matchesPattern(pattern, `${'a'.repeat(120)}b`)).toBe(false);
    expect(matchesPattern(pattern, 'a'.repeat(128))).toBe(true);
    expect(roomAllowed([pattern, 'lobby'], 'lobby')).toBe(true);
  });
});
