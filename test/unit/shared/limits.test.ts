import { describe, expect, it } from 'vitest';
import { parseRoomsClaim, roomAllowed } from '../../../lambdas/shared/limits.js';
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
