import middy from '@middy/core';
import { describe, expect, it, vi } from 'vitest';
import { ForbiddenError } from '../../../lambdas/shared/errors.js';
import { errorFrames, parsedFrame, parseFrame } from '../../../lambdas/shared/middleware.js';
import type { RouteResult, WebSocketEvent } from '../../../lambdas/shared/websocket.js';
import type { ClientFrame, ServerFrame } from '../../../protocol/index.js';
import { lambdaContext, routeEvent } from '../../helpers/events.js';

const setup = (
  action: 'send' | 'ping',
  run: (frame: ClientFrame) => Promise<void> = async () => undefined,
) => {
  const replies: { connectionId: string; frame: ServerFrame }[] = [];
  const reply = vi.fn(async (connectionId: string, frame: ServerFrame) => {
    replies.push({ connectionId, frame });
  });
  const inner = vi.fn(run);
  const handler = middy<WebSocketEvent, RouteResult>()
    .use(errorFrames({ reply }))
    .use(parseFrame(action, { reply, maxBodyBytes: 32 }))
    .handler(async (event) => {
      await inner(parsedFrame(event, action));
      return { statusCode: 200 };
    });
  return { handler, replies, inner, reply };
};

describe('Middleware: parseFrame', () => {
  it('hands the valid frame to the route, as parsedFrame of its action', async () => {
    // Prepare
    const { handler, inner, replies } = setup('send');

    // Act
    const result = await handler(
      routeEvent('send', { action: 'send', room: 'r', id: 'i', body: { a: 1 }, ref: 'x' }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(inner).toHaveBeenCalledOnce();
    expect(inner.mock.calls[0]?.[0]).toEqual({
      action: 'send',
      room: 'r',
      id: 'i',
      body: { a: 1 },
      ref: 'x',
    });
    expect(replies).toEqual([]);
  });

  it.each([
    ['invalid JSON', '{"action":', 'bad_request', undefined],
    ['a JSON array', '[1,2]', 'bad_request', undefined],
    ['an unknown action', { action: 'dance', ref: 'u' }, 'bad_request', 'u'],
    ['a bad room', { action: 'send', room: 'a room', id: 'i', body: 1, ref: 'r' }, 'bad_request', 'r'],
    ['a bad id', { action: 'send', room: 'r', id: 'x'.repeat(65), body: 1 }, 'bad_request', undefined],
    [
      'an oversized body',
      { action: 'send', room: 'r', id: 'i', body: 'x'.repeat(40), ref: 'big' },
      'payload_too_large',
      'big',
    ],
  ])('answers %s with an error frame and never runs the handler', async (_name, body, code, ref) => {
    // Prepare
    const { handler, inner, replies } = setup('send');

    // Act
    const result = await handler(
      routeEvent('send', body, { raw: typeof body === 'string', connectionId: 'c9' }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(inner).not.toHaveBeenCalled();
    expect(replies).toHaveLength(1);
    expect(replies[0]?.connectionId).toBe('c9');
    expect(replies[0]?.frame).toMatchObject({ type: 'error', code });
    expect((replies[0]?.frame as { ref?: string } | undefined)?.ref).toBe(ref);
  });

  it('refuses a frame of another action reaching this route', async () => {
    // Prepare
    const { handler, inner, replies } = setup('ping');

    // Act
    await handler(routeEvent('ping', { action: 'send', room: 'r', id: 'i', body: 1 }), lambdaContext());

    // Assess
    expect(inner).not.toHaveBeenCalled();
    expect(replies[0]?.frame).toMatchObject({ type: 'error', code: 'bad_request', action: 'send' });
  });

  it('decodes a base64-encoded frame', async () => {
    // Prepare
    const { handler, inner } = setup('ping');
    const event = routeEvent('ping', Buffer.from('{"action":"ping"}').toString('base64'), { raw: true });
    event.isBase64Encoded = true;

    // Act
    await handler(event, lambdaContext());

    // Assess
    expect(inner.mock.calls[0]?.[0]).toEqual({ action: 'ping' });
  });
});

describe('Middleware: errorFrames', () => {
  it('turns a ParleyError into an error frame with its code, echoing ref and action', async () => {
    // Prepare
    const { handler, replies } = setup('send', async () => {
      throw new ForbiddenError('join room r first');
    });

    // Act
    const result = await handler(
      routeEvent('send', { action: 'send', room: 'r', id: 'i', body: 1, ref: 'q' }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(replies.map((entry) => entry.frame)).toEqual([
      { type: 'error', code: 'forbidden', message: 'join room r first', ref: 'q', action: 'send' },
    ]);
  });

  it('answers any other error as internal without leaking its message', async () => {
    // Prepare
    const { handler, replies } = setup('ping', async () => {
      throw new Error('secret table arn:aws:dynamodb:...');
    });

    // Act
    const result = await handler(routeEvent('ping', { action: 'ping', ref: 'p' }), lambdaContext());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(replies.map((entry) => entry.frame)).toEqual([
      { type: 'error', code: 'internal', message: 'internal error', ref: 'p', action: 'ping' },
    ]);
  });

  it('still answers 200 when the error frame itself cannot be sent', async () => {
    // Prepare
    const reply = vi.fn(async () => {
      throw new Error('endpoint down');
    });
    const handler = middy<WebSocketEvent, RouteResult>()
      .use(errorFrames({ reply }))
      .handler(async () => {
        throw new Error('boom');
      });

    // Act
    const result = await handler(routeEvent('ping', { action: 'ping' }), lambdaContext());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(reply).toHaveBeenCalledOnce();
  });
});

describe('Middleware: errorFrames for service throttling', () => {
  it('answers DynamoDB throttling that outlived the SDK retries as rate_limited', async () => {
    // Prepare
    const { handler, replies } = setup('ping', async () => {
      throw Object.assign(new Error('Throughput exceeds the current capacity'), {
        name: 'ProvisionedThroughputExceededException',
      });
    });

    // Act
    await handler(routeEvent('ping', { action: 'ping' }), lambdaContext());

    // Assess
    expect(replies.map((entry) => entry.frame)).toEqual([
      { type: 'error', code: 'rate_limited', message: 'the service is busy; retry later', action: 'ping' },
    ]);
  });
});
