/**
 * The `bad_request` messages `parseClientFrame` builds from zod's issues, word for word: clients
 * show them, so a change of schema library or of zod's settings (its locale) must not change them.
 * This file imports the protocol alone, so nothing else sets zod's locale for it.
 */
import { describe, expect, it } from 'vitest';
import { parseClientFrame, serverFrameSchema } from '../../../protocol/index.js';

const messageOf = (frame: unknown): string | undefined => {
  const parsed = parseClientFrame(JSON.stringify(frame), 16_384);
  return parsed.ok ? undefined : parsed.error.message;
};

describe('Shared: protocol error messages', () => {
  it.each([
    [
      'a limit that is not an integer',
      { action: 'history', room: 'r', limit: 1.5 },
      'limit: Invalid input: expected int, received number',
    ],
    [
      'a limit of 0',
      { action: 'history', room: 'r', limit: 0 },
      'limit: Too small: expected number to be >=1',
    ],
    [
      'a limit of 101',
      { action: 'history', room: 'r', limit: 101 },
      'limit: Too big: expected number to be <=100',
    ],
    [
      'a limit as a string',
      { action: 'history', room: 'r', limit: '10' },
      'limit: Invalid input: expected number, received string',
    ],
    [
      'a negative before',
      { action: 'history', room: 'r', before: -1 },
      'before: Too small: expected number to be >=0',
    ],
    [
      'a room with a space',
      { action: 'join', room: 'a room' },
      'room: room must match ^[A-Za-z0-9_.:-]{1,128}$',
    ],
    ['a missing room', { action: 'leave' }, 'room: Invalid input: expected string, received undefined'],
    ['a ref too long', { action: 'ping', ref: 'x'.repeat(65) }, 'ref: ref must be at most 64 characters'],
    [
      'a ref that is a number',
      { action: 'ping', ref: 12 },
      'ref: Invalid input: expected string, received number',
    ],
    [
      'an id too long',
      { action: 'send', room: 'r', id: 'x'.repeat(65), body: 1 },
      'id: id must match ^[A-Za-z0-9_.:-]{1,64}$',
    ],
    [
      'an id that is a number',
      { action: 'send', room: 'r', id: 7, body: 1 },
      'id: Invalid input: expected string, received number',
    ],
    ['a missing body', { action: 'send', room: 'r', id: 'a' }, 'body: Invalid input'],
    [
      'a cursor with a bad origin',
      { action: 'join', room: 'r', since: { 'US-EAST': 3 } },
      'since.US-EAST: Invalid key in record',
    ],
    [
      'a cursor with a negative seq',
      { action: 'join', room: 'r', since: { 'us-east-1': -1 } },
      'since.us-east-1: Too small: expected number to be >=0',
    ],
    [
      'a cursor that is an array',
      { action: 'join', room: 'r', since: [] },
      'since: Invalid input: expected record, received array',
    ],
  ])('answers %s with the same message as ever', (_name, frame, message) => {
    expect(messageOf(frame)).toBe(message);
  });

  it('drops fields the protocol does not know, as before', () => {
    const parsed = parseClientFrame(JSON.stringify({ action: 'ping', ref: 'p', extra: { a: 1 } }), 16_384);
    expect(parsed).toEqual({ ok: true, frame: { action: 'ping', ref: 'p' } });
  });

  it('checks server frames with the same messages', () => {
    const parsed = serverFrameSchema.safeParse({ type: 'pong', ts: 1.5 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['ts', 'Invalid input: expected int, received number'],
    ]);
  });
});
