import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fanout } from '../../../lambdas/handlers/fanout.js';
import type { Store } from '../../../lambdas/shared/store/index.js';
import { processStreamRecord } from '../../../lambdas/shared/stream.js';
import { streamEvent, streamRecord } from '../../helpers/events.js';
import { postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
const sqsMock = mockClient(SQSClient);

afterEach(() => {
  apiMock.reset();
  sqsMock.reset();
  vi.restoreAllMocks();
});

// The fan-out runs in eu-west-1; us-east-1 is another region.
const deps = () => unitDeps({ region: 'eu-west-1' });
const messageImage = (room: string, region: string, seq = 1) => ({
  pk: `ROOM#${room}`,
  sk: `MSG#${region}#${String(seq).padStart(12, '0')}`,
  room,
  id: `id-${seq}`,
  origin: region,
  seq,
  from: 'alice',
  body: '{"text":"hi"}',
  ts: 1_700_000_000_000,
  region,
  gpk: `ROOM#${room}`,
  gsk: 'x',
  ttl: 1,
});
const memberImage = (room: string, region: string, user = 'bob') => ({
  pk: `ROOM#${room}`,
  sk: `MEMBER#${region}#c-${user}`,
  room,
  user,
  region,
  connectionId: `c-${user}`,
  joinedAt: 1,
  ttl: 2,
});
/** Joins connections of this region (eu-west-1) to a room. */
const localMembers = async (store: Store, room: string, ...connectionIds: string[]) => {
  for (const connectionId of connectionIds) {
    await store.addMembership({ room, connectionId, user: connectionId, region: 'eu-west-1', now: 1 });
  }
};

describe('Handler: fanout', () => {
  it("delivers an INSERT of another region's message to this region's members", async () => {
    // Prepare
    const fanoutDeps = deps();
    await localMembers(fanoutDeps.store, 'r', 'c1', 'c2');
    const list = vi.spyOn(fanoutDeps.store, 'listMembers');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const action = await processStreamRecord(
      fanoutDeps,
      streamRecord('INSERT', { newImage: messageImage('r', 'us-east-1') }),
    );

    // Assess
    expect(action).toBe('message');
    const message = {
      type: 'message',
      room: 'r',
      id: 'id-1',
      origin: 'us-east-1',
      seq: 1,
      from: 'alice',
      body: { text: 'hi' },
      ts: 1_700_000_000_000,
    };
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'c1', frame: message },
      { connectionId: 'c2', frame: message },
    ]);
    // This region's members only.
    expect(list.mock.calls).toEqual([['r', 'eu-west-1']]);
  });

  it('ignores messages accepted in this region, modifications and other items', async () => {
    // Act
    const actions = await Promise.all([
      processStreamRecord(deps(), streamRecord('INSERT', { newImage: messageImage('r', 'eu-west-1') })),
      processStreamRecord(
        deps(),
        streamRecord('MODIFY', {
          newImage: messageImage('r', 'us-east-1'),
          oldImage: messageImage('r', 'us-east-1'),
        }),
      ),
      processStreamRecord(
        deps(),
        streamRecord('INSERT', { newImage: { pk: 'ROOM#r', sk: 'SEQ#us-east-1', seq: 3 } }),
      ),
      processStreamRecord(
        deps(),
        streamRecord('INSERT', { newImage: { pk: 'CONN#c', sk: 'META', user: 'u', region: 'us-east-1' } }),
      ),
      processStreamRecord(deps(), streamRecord('REMOVE', { oldImage: messageImage('r', 'us-east-1') })),
    ]);

    // Assess
    expect(actions).toEqual(['ignored', 'ignored', 'ignored', 'ignored', 'ignored']);
    expect(apiMock.commandCalls(PostToConnectionCommand)).toHaveLength(0);
  });

  it('turns membership INSERT and REMOVE (TTL expiry included) of other regions into presence events', async () => {
    // Prepare
    const fanoutDeps = deps();
    await localMembers(fanoutDeps.store, 'r', 'c1');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const joined = await processStreamRecord(
      fanoutDeps,
      streamRecord('INSERT', { newImage: memberImage('r', 'us-east-1') }),
    );
    const expired = await processStreamRecord(
      fanoutDeps,
      streamRecord('REMOVE', { oldImage: memberImage('r', 'us-east-1') }, { ttl: true }),
    );
    const own = await processStreamRecord(
      fanoutDeps,
      streamRecord('INSERT', { newImage: memberImage('r', 'eu-west-1') }),
    );

    // Assess
    expect([joined, expired, own]).toEqual(['presence-join', 'presence-leave', 'ignored']);
    expect(postedFrames(apiMock).map((post) => post.frame)).toEqual([
      { type: 'presence', room: 'r', event: 'join', user: 'bob', region: 'us-east-1' },
      { type: 'presence', room: 'r', event: 'leave', user: 'bob', region: 'us-east-1' },
    ]);
  });

  it('reports only the record whose delivery failed as a batch item failure', async () => {
    // Prepare
    const fanoutDeps = deps();
    await localMembers(fanoutDeps.store, 'ok', 'good');
    await localMembers(fanoutDeps.store, 'bad', 'broken');
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'good' }).resolves({});
    apiMock
      .on(PostToConnectionCommand, { ConnectionId: 'broken' })
      .rejects(new ForbiddenException({ message: 'no', $metadata: {} }));
    const ok = streamRecord('INSERT', { newImage: messageImage('ok', 'us-east-1') });
    const bad = streamRecord('INSERT', { newImage: messageImage('bad', 'us-east-1', 2) });

    // Act
    const response = await fanout(fanoutDeps, streamEvent(ok, bad));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: bad.dynamodb?.SequenceNumber }] });
    // The failing connection was attempted once (not a throttle: no retry); the good one delivered.
    expect(
      postedFrames(apiMock)
        .map((post) => post.connectionId)
        .sort(),
    ).toEqual(['broken', 'good']);
  });

  it('after a failed record, fails the rest of the batch so the retry keeps stream order', async () => {
    // Prepare
    const fanoutDeps = deps();
    await localMembers(fanoutDeps.store, 'r', 'c1');
    apiMock.on(PostToConnectionCommand).resolves({});
    const first = streamRecord('INSERT', { newImage: messageImage('r', 'us-east-1', 1) });
    const failing = streamRecord('INSERT', {
      newImage: { ...messageImage('r', 'us-east-1', 2), body: '{not json' },
    });
    const later = streamRecord('INSERT', { newImage: messageImage('r', 'us-east-1', 3) });

    // Act
    const response = await fanout(fanoutDeps, streamEvent(first, failing, later));

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      failing.dynamodb?.SequenceNumber,
      later.dynamodb?.SequenceNumber,
    ]);
    expect(postedFrames(apiMock).map((post) => post.frame.seq)).toEqual([1]);
  });

  it('fails the whole batch when every record fails, so the mapping retries it', async () => {
    // Prepare
    const fanoutDeps = deps();
    vi.spyOn(fanoutDeps.store, 'listMembers').mockRejectedValue(new Error('table unavailable'));

    // Act + Assess
    await expect(
      fanout(fanoutDeps, streamEvent(streamRecord('INSERT', { newImage: messageImage('r', 'us-east-1') }))),
    ).rejects.toThrow();
  });
});
