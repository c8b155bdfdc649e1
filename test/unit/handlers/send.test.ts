import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { send } from '../../../lambdas/handlers/send.js';
import { ForbiddenError } from '../../../lambdas/shared/errors.js';
import type { Store } from '../../../lambdas/shared/store/index.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
const sqsMock = mockClient(SQSClient);

afterEach(() => {
  apiMock.reset();
  sqsMock.reset();
  vi.restoreAllMocks();
});

const caller = { connectionId: 'c-alice', user: 'alice' };
const frame = { action: 'send' as const, room: 'r', id: 'm1', body: { text: 'hi' }, ref: 'ref-1' };

/** Joins connections of this region to room `r`, as `join` would. */
const members = async (store: Store, ...connectionIds: string[]) => {
  for (const connectionId of connectionIds) {
    await store.addMembership({ room: 'r', connectionId, user: 'u', region: 'us-east-1', now: NOW });
  }
};

describe('Handler: send', () => {
  it('answers conflict for an id another sender used in the room, storing and delivering nothing', async () => {
    // Prepare
    const deps = unitDeps();
    await members(deps.store, 'c-alice', 'c-bob');
    await deps.store.storeMessage(
      { room: 'r', id: 'm1', from: 'bob', body: 'first', region: 'us-east-1' },
      { consistency: 'eventual', retentionDays: 30, now: () => 123 },
    );
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act + Assess
    await expect(send(deps, caller, frame)).rejects.toMatchObject({ code: 'conflict' });
    expect(postedFrames(apiMock)).toEqual([]);
    expect(await deps.store.roomCursor('r')).toEqual({ 'us-east-1': 1 });
  });

  it('refuses a connection that has not joined the room, writing nothing', async () => {
    // Prepare
    const deps = unitDeps();
    const store = vi.spyOn(deps.store, 'storeMessage');

    // Act + Assess
    await expect(send(deps, caller, frame)).rejects.toBeInstanceOf(ForbiddenError);
    expect(store).not.toHaveBeenCalled();
    expect(await deps.store.roomCursor('r')).toEqual({});
  });

  it('acks with the echoed ref, then delivers the message to local members including the sender', async () => {
    // Prepare
    const deps = unitDeps();
    await members(deps.store, 'c-alice', 'c-bob');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await send(deps, caller, frame);

    // Assess
    const message = {
      type: 'message',
      room: 'r',
      id: 'm1',
      origin: 'us-east-1',
      seq: 1,
      from: 'alice',
      body: { text: 'hi' },
      ts: NOW,
    };
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c-alice',
        frame: { type: 'ack', ref: 'ref-1', room: 'r', id: 'm1', origin: 'us-east-1', seq: 1, ts: NOW },
      },
      { connectionId: 'c-alice', frame: message },
      { connectionId: 'c-bob', frame: message },
    ]);
  });

  it('answers a repeated id with the first ack and delivers nothing', async () => {
    // Prepare: m1 was stored as seq 7 at ts 123.
    const deps = unitDeps();
    await members(deps.store, 'c-alice');
    const first = { room: 'r', from: 'alice', body: 1, region: 'us-east-1' };
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'm1']) {
      await deps.store.storeMessage(
        { ...first, id },
        { consistency: 'eventual', retentionDays: 30, now: () => 123 },
      );
    }
    const list = vi.spyOn(deps.store, 'listMembers');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(deps, caller, frame);

    // Assess
    expect(outcome.duplicate).toBe(true);
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c-alice',
        frame: { type: 'ack', ref: 'ref-1', room: 'r', id: 'm1', origin: 'us-east-1', seq: 7, ts: 123 },
      },
    ]);
    expect(list).not.toHaveBeenCalled();
  });

  it('uses the global origin in strong mode', async () => {
    // Prepare
    const deps = unitDeps({ consistency: 'strong' });
    await members(deps.store, 'c-alice');
    const store = vi.spyOn(deps.store, 'storeMessage');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(deps, caller, frame);

    // Assess
    expect(outcome.ack).toEqual({ origin: 'global', seq: 1, ts: NOW });
    expect(store.mock.calls[0]?.[1]).toMatchObject({ consistency: 'strong', retentionDays: 30 });
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({ type: 'ack', origin: 'global', seq: 1 });
  });

  it('puts rooms above FANOUT_INLINE_MAX on the delivery queue instead of posting inline', async () => {
    // Prepare
    const deps = unitDeps({ fanoutInlineMax: 3 });
    await members(deps.store, 'c-alice', 'c1', 'c2', 'c3');
    apiMock.on(PostToConnectionCommand).resolves({});
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    // Act
    await send(deps, caller, frame);

    // Assess
    expect(postedFrames(apiMock).map((post) => post.frame.type)).toEqual(['ack']);
    const entries = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((entry) => JSON.parse(entry.MessageBody ?? '').connectionIds)).toEqual([
      ['c-alice', 'c1', 'c2', 'c3'],
    ]);
  });

  it('takes the sender from the connection item when the authorizer context is absent', async () => {
    // Prepare
    const deps = unitDeps();
    await deps.store.putConnection({
      connectionId: 'c-alice',
      user: 'stored-alice',
      region: 'us-east-1',
      now: NOW,
    });
    await members(deps.store, 'c-alice');
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(deps, { connectionId: 'c-alice', user: undefined }, frame);

    // Assess
    expect(outcome.duplicate === false && outcome.message.from).toBe('stored-alice');
  });
});
