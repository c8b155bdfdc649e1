import { describe, expect, it } from 'vitest';
import { readChange, unmarshallImage } from '../../../../lambdas/shared/store/index.js';
import { marshallImage, streamRecord } from '../../../helpers/events.js';

describe('Store (DynamoDB): stream changes', () => {
  it('reads strings, numbers, booleans, nulls, maps and lists', () => {
    // Act
    const item = unmarshallImage(marshallImage({ s: 'x', n: 12, b: true, z: null, m: { a: [1, 'two'] } }));

    // Assess
    expect(item).toEqual({ s: 'x', n: 12, b: true, z: null, m: { a: [1, 'two'] } });
  });

  it('reads an inserted message, and an inserted or removed membership, by their sort keys', () => {
    // Prepare
    const message = {
      pk: 'ROOM#r',
      sk: 'MSG#us-east-1#000000000001',
      room: 'r',
      id: 'i',
      origin: 'us-east-1',
      seq: 1,
      from: 'a',
      body: '"x"',
      ts: 5,
      region: 'us-east-1',
    };
    const member = { pk: 'ROOM#r', sk: 'MEMBER#us-east-1#c', room: 'r', user: 'bob', region: 'us-east-1' };

    // Act
    const changes = [
      readChange(streamRecord('INSERT', { newImage: message })),
      readChange(streamRecord('INSERT', { newImage: member })),
      readChange(streamRecord('REMOVE', { oldImage: member }, { ttl: true })),
      readChange(streamRecord('REMOVE', { oldImage: message })),
      readChange(streamRecord('MODIFY', { newImage: member, oldImage: member })),
      readChange(streamRecord('INSERT', { newImage: { pk: 'ROOM#r', sk: 'SEQ#us-east-1', seq: 3 } })),
      readChange(streamRecord('INSERT', { newImage: { pk: 'ROOM#r', sk: 'ID#i', room: 'r', region: 'x' } })),
    ];

    // Assess
    expect(changes).toEqual([
      { kind: 'message', room: 'r', region: 'us-east-1', message },
      { kind: 'membership', event: 'join', room: 'r', region: 'us-east-1', user: 'bob' },
      { kind: 'membership', event: 'leave', room: 'r', region: 'us-east-1', user: 'bob' },
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
