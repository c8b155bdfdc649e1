import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as history } from '../../../lambdas/handlers/history.js';
import { handler as join } from '../../../lambdas/handlers/join.js';
import { handler as leave } from '../../../lambdas/handlers/leave.js';
import { handler as ping } from '../../../lambdas/handlers/ping.js';
import { handler as presence } from '../../../lambdas/handlers/presence.js';
import { handler as send } from '../../../lambdas/handlers/send.js';
import { lambdaContext, routeEvent } from '../../helpers/events.js';
import { postedFrames } from '../../helpers/unit-deps.js';

// The deployed entry points with the SDK mocked: each takes its action's token before any other
// table access, so a spent bucket costs the bucket's calls and nothing else, with the defaults of
// the settings table in the refusal.
const apiMock = mockClient(ApiGatewayManagementApiClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
const saved = { ...process.env };
const conditionFailed = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

beforeAll(() => {
  Object.assign(process.env, {
    TABLE_NAME: 'parley',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'unit',
    AWS_SECRET_ACCESS_KEY: 'unit',
    CONNECTIONS_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
  });
});

afterAll(() => {
  process.env = saved;
});

afterEach(() => {
  apiMock.reset();
  ddbMock.reset();
  delete process.env.PRESENCE_TIMEOUT_SECONDS;
});

/** The table calls the mock saw: command name, key, update expression. */
const tableCalls = () =>
  ddbMock.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
    return [command.constructor.name, command.input.Key, command.input.UpdateExpression];
  });

/** A connection whose bucket is spent: both conditional updates fail, the item exists. */
const spentBucket = () => {
  apiMock.on(PostToConnectionCommand).resolves({});
  ddbMock.on(UpdateCommand).rejects(conditionFailed);
  ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#conn-1' } });
};

const KEY = { pk: 'CONN#conn-1', sk: 'META' };

describe('Rate limits: the entry points', () => {
  it.each([
    ['join', join, { action: 'join', room: 'r' }, 'at most 10 joins per second (bursts of 100)'],
    ['leave', leave, { action: 'leave', room: 'r' }, 'at most 10 leaves per second (bursts of 100)'],
    [
      'send',
      send,
      { action: 'send', room: 'r', id: 'm', body: 1 },
      'at most 10 sends per second (bursts of 20)',
    ],
    [
      'history',
      history,
      { action: 'history', room: 'r' },
      'at most 5 history requests per second (bursts of 20)',
    ],
    [
      'presence',
      presence,
      { action: 'presence', room: 'r' },
      'at most 5 presence requests per second (bursts of 20)',
    ],
  ] as const)(
    '%s answers a spent bucket rate_limited, with no table access but the bucket',
    async (action, handler, frame, rate) => {
      // Prepare
      spentBucket();

      // Act
      const result = await handler(routeEvent(action, { ...frame, ref: 'x' }), lambdaContext());

      // Assess
      expect(result).toEqual({ statusCode: 200 });
      expect(postedFrames(apiMock)).toEqual([
        {
          connectionId: 'conn-1',
          frame: { type: 'error', code: 'rate_limited', message: `${rate}; retry later`, ref: 'x', action },
        },
      ]);
      expect(tableCalls()).toEqual([
        ['UpdateCommand', KEY, `SET ${action}Tat = :next`],
        ['UpdateCommand', KEY, `SET ${action}Tat = ${action}Tat + :interval`],
        ['GetCommand', KEY, undefined],
      ]);
    },
  );

  it('ping answers a spent bucket rate_limited and writes no heartbeat', async () => {
    // Prepare
    spentBucket();

    // Act
    await ping(routeEvent('ping', { action: 'ping', ref: 'p' }), lambdaContext());

    // Assess
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'conn-1',
        frame: {
          type: 'error',
          code: 'rate_limited',
          message: 'at most 1 pings per second (bursts of 5); retry later',
          ref: 'p',
          action: 'ping',
        },
      },
    ]);
    expect(tableCalls()).toEqual([
      ['UpdateCommand', KEY, 'SET pingTat = :next, lastSeen = :now'],
      ['UpdateCommand', KEY, 'SET pingTat = pingTat + :interval, lastSeen = :now'],
      ['GetCommand', KEY, undefined],
    ]);
  });

  it('an allowed ping costs one write, its heartbeat, and one with the presence timeout 0 none', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    await ping(routeEvent('ping', { action: 'ping', ref: 'a' }), lambdaContext());
    const heartbeat = tableCalls();
    process.env.PRESENCE_TIMEOUT_SECONDS = '0';
    await ping(routeEvent('ping', { action: 'ping', ref: 'b' }), lambdaContext());

    // Assess
    expect(heartbeat).toEqual([['UpdateCommand', KEY, 'SET pingTat = :next, lastSeen = :now']]);
    expect(tableCalls()).toEqual(heartbeat);
    expect(postedFrames(apiMock).map((posted) => [posted.frame.type, posted.frame.ref])).toEqual([
      ['pong', 'a'],
      ['pong', 'b'],
    ]);
  });
});
