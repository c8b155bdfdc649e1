/**
 * Every reply fits in one API Gateway message, or the caller is told: a reply over 128 KiB becomes
 * `payload_too_large` with its ref, and a history page ends early, by whole `ts` groups.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { history } from '../../../lambdas/handlers/history.js';
import { reply } from '../../../lambdas/shared/delivery.js';
import { fitHistory, frameBytes } from '../../../lambdas/shared/reply-size.js';
import { MAX_REPLY_BYTES, type MessageFrame } from '../../../protocol/index.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
afterEach(() => {
  apiMock.reset();
});

const message = (seq: number, ts: number, bytes = 16_000): MessageFrame => ({
  type: 'message',
  room: 'r',
  id: `m${seq}`,
  origin: 'us-east-1',
  seq,
  from: 'alice',
  body: 'x'.repeat(bytes),
  ts,
});

describe('Replies that would not fit', () => {
  it('sends payload_too_large, with the ref, instead of a reply over 128 KiB', async () => {
    // Prepare
    const deps = unitDeps();
    apiMock.on(PostToConnectionCommand).resolves({});
    const big = { type: 'history' as const, ref: 'h1', room: 'r', messages: [message(1, 1, 140_000)] };

    // Act
    const delivered = await reply(deps, 'c1', big);

    // Assess
    expect(delivered).toBe(false);
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c1',
        frame: expect.objectContaining({ type: 'error', code: 'payload_too_large', ref: 'h1' }),
      },
    ]);
  });

  it('leaves out the oldest ts groups of a history page until it fits, and nothing in between', () => {
    // Nine 16 KB messages, the oldest three sharing a ts: 144 KB in all.
    const messages = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => message(seq, seq <= 3 ? 1 : seq));
    const page = fitHistory({ type: 'history', room: 'r', messages: [] }, messages);
    expect(page?.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(frameBytes(page as NonNullable<typeof page>)).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    // The ts group just before the page's oldest is left out whole: paging on with before = 4 gets it.
    expect(
      fitHistory({ type: 'history', room: 'r', messages: [] }, messages.slice(0, 3))?.messages,
    ).toHaveLength(3);
  });

  it('answers a page whose newest ts group alone cannot fit with undefined, and a small page whole', () => {
    const group = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => message(seq, 5));
    expect(fitHistory({ type: 'history', room: 'r', messages: [] }, group)).toBeUndefined();
    const small = [message(1, 1, 10), message(2, 2, 10)];
    expect(fitHistory({ type: 'history', room: 'r', messages: [] }, small)?.messages).toEqual(small);
    expect(fitHistory({ type: 'history', room: 'r', messages: [] }, [])?.messages).toEqual([]);
  });

  it('history of nine 16 KiB messages answers a page under 128 KiB, and pages on from its oldest ts', async () => {
    // Prepare
    const deps = unitDeps();
    await deps.store.addMembership({
      room: 'r',
      connectionId: 'c1',
      user: 'alice',
      region: 'us-east-1',
      now: NOW,
    });
    for (let i = 1; i <= 9; i++) {
      await deps.store.storeMessage(
        { room: 'r', id: `m${i}`, from: 'alice', body: 'x'.repeat(16_384), region: 'us-east-1' },
        { consistency: 'eventual', retentionDays: 30, now: () => NOW + i },
      );
    }
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await history(deps, { connectionId: 'c1', user: 'alice' }, { action: 'history', room: 'r', ref: 'h' });
    const first = postedFrames(apiMock)[0]?.frame as { type: string; messages: MessageFrame[] };
    const oldest = first.messages[0]?.ts as number;
    apiMock.reset();
    apiMock.on(PostToConnectionCommand).resolves({});
    await history(
      deps,
      { connectionId: 'c1', user: 'alice' },
      { action: 'history', room: 'r', before: oldest },
    );
    const second = postedFrames(apiMock)[0]?.frame as { messages: MessageFrame[] };

    // Assess
    expect(first.type).toBe('history');
    expect(first.messages.length).toBeLessThan(9);
    expect(JSON.stringify(first).length).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect([...second.messages, ...first.messages].map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
