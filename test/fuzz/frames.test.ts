/**
 * Fuzz test of the WebSocket routes: random and mutated frames through the real entry points
 * (middy stack, environment as in Lambda) against DynamoDB Local and a fake `@connections`
 * endpoint. Every frame must get exactly one direct reply (an `error` with a protocol code, or the
 * action's reply), every frame posted must be a valid server frame, no handler may throw, and a
 * frame the protocol refuses must not change a single stored item.
 *
 * Size: {@link INVALID_RUNS} batches of up to {@link BATCH} refused frames, {@link HOSTILE_RUNS}
 * hostile ones (bodies nested up to 5,000 deep, messages up to 128 KB as API Gateway assembles them
 * from several frames, cursors of thousands of keys), plus {@link MIXED_RUNS} frames of every
 * kind: about 2,500 frames per run (under a minute on two cores). The frames themselves, split
 * and over the limits, are the local gateway's, tested over real sockets in `test/e2e/limits.test.ts`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/shared/clients.js';
import type { RouteResult, WebSocketEvent } from '../../lambdas/shared/websocket.js';
import { MAX_PAGE_TOKEN_LENGTH, parseClientFrame, serverFrameSchema } from '../../protocol/index.js';
import { type ConnectionsServer, startConnectionsServer } from '../helpers/connections-server.js';
import { useHandlerEnvironment } from '../helpers/deps.js';
import { type DynamoDbLocal, startDynamoDbLocal, stopDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { connectEvent, lambdaContext, routeEvent } from '../helpers/events.js';
import { createTable } from '../helpers/table.js';

const INVALID_RUNS = 250;
const BATCH = 8;
const MIXED_RUNS = 1_200;
const HOSTILE_RUNS = 150;
const MAX_BODY_BYTES = 512;
const MEMBER = 'fz-member';

type Route = (event: WebSocketEvent, context: ReturnType<typeof lambdaContext>) => Promise<RouteResult>;
let ddb: DynamoDbLocal | undefined;
let server: ConnectionsServer;
let tableName: string;
let scanClient: ReturnType<typeof documentClient>;
let routes: Record<string, Route>;
let fallback: Route;
const savedEnv = { ...process.env };
let frameCount = 0;

/** Every item of the test table, sorted by key (a test may Scan its own table; handlers never do). */
const snapshot = async (): Promise<string[]> => {
  const items: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await scanClient.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items.sort();
};

/** API Gateway's route selection (`$request.body.action`): a known action's route, else `$default`. */
const routeOf = (text: string): Route => {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const action = (value as Record<string, unknown>).action;
      if (typeof action === 'string' && Object.hasOwn(routes, action)) return routes[action] as Route;
    }
  } catch {
    // not JSON: $default
  }
  return fallback;
};

const DIRECT_REPLIES = new Set(['error', 'joined', 'left', 'ack', 'history', 'pong']);

/** Sends one frame text from `connectionId` and returns the frames posted to it because of it. */
const deliverFrame = async (text: string, connectionId: string, route?: Route) => {
  frameCount += 1;
  const before = server.framesFor(connectionId).length;
  const event = routeEvent('x', text, { connectionId, user: 'fuzzer', raw: true });
  const result = await (route ?? routeOf(text))(event, lambdaContext());
  expect(result).toEqual({ statusCode: 200 });
  const posted = server.framesFor(connectionId).slice(before);
  for (const frame of posted) {
    const checked = serverFrameSchema.safeParse(frame);
    expect(checked.success, `invalid server frame ${JSON.stringify(frame)}`).toBe(true);
  }
  // The direct reply: an error, or the action's reply (a presence reply carries `members`;
  // presence events and messages are traffic, not replies).
  const direct = posted.filter(
    (frame) => DIRECT_REPLIES.has(String(frame.type)) || (frame.type === 'presence' && 'members' in frame),
  );
  expect(direct, `replies to ${text.slice(0, 200)}`).toHaveLength(1);
  return direct[0] as Record<string, unknown>;
};

// --- Generators -----------------------------------------------------------------------------

const validRoom = fc.oneof(fc.constantFrom('fuzz', 'fuzz-2'), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/));
const validId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,16}$/);
const ref = fc.option(fc.string({ maxLength: 64 }), { nil: undefined });
const jsonBody = fc.jsonValue({ maxDepth: 3 });

/** Valid frames of every action. */
const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ action: fc.constant('join'), room: validRoom, ref }, { requiredKeys: ['action', 'room'] }),
  fc.record({ action: fc.constant('leave'), room: validRoom, ref }, { requiredKeys: ['action', 'room'] }),
  fc.record(
    { action: fc.constant('send'), room: validRoom, id: validId, body: jsonBody, ref },
    { requiredKeys: ['action', 'room', 'id', 'body'] },
  ),
  fc.record(
    {
      action: fc.constant('history'),
      room: validRoom,
      limit: fc.integer({ min: 1, max: 100 }),
      before: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      ref,
    },
    { requiredKeys: ['action', 'room'] },
  ),
  fc.record({ action: fc.constant('presence'), room: validRoom, ref }, { requiredKeys: ['action', 'room'] }),
  fc.record({ action: fc.constant('ping'), ref }, { requiredKeys: ['action'] }),
);

const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Values of the wrong type, unicode, huge strings and nested junk. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('', ' ', 'x'.repeat(200), 'é'.repeat(300), '\u0000', '\ud800', 'a b', '../..'),
  fc.integer({ min: 100, max: 40_000 }).map((length) => 'y'.repeat(length)),
  fc.anything({ maxDepth: 3, withObjectString: true, withNullPrototype: true }),
  fc.dictionary(fc.constantFrom(...POLLUTION_KEYS), fc.jsonValue({ maxDepth: 2 })),
);

/** A valid frame with one field set to junk, removed, or added. */
const mutatedFrame = fc
  .tuple(
    validFrame,
    fc.constantFrom(
      'action',
      'room',
      'id',
      'body',
      'ref',
      'limit',
      'before',
      'since',
      'extra',
      ...POLLUTION_KEYS,
    ),
    junk,
    fc.boolean(),
  )
  .map(([frame, key, value, remove]) => {
    const copy: Record<string, unknown> = { ...frame };
    if (remove) delete copy[key];
    else Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    return copy;
  });

/** Texts that are not frames at all, or barely. */
const rawText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  validFrame.chain((frame) => {
    const text = JSON.stringify(frame);
    return fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut));
  }),
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '{"action":"ping","__proto__":{"polluted":true}}',
    '{"action":"send","room":"fuzz","id":"p","body":1,"constructor":{"prototype":{"polluted":true}}}',
    '{"action":"join","room":"fuzz","since":{"__proto__":{"polluted":true}}}',
    '{"action":"send","room":"fuzz","id":"dup","body":1,"body":2,"action":"ping"}',
    '{"action":"history","room":"fuzz","limit":1e400}',
    '{"action": "join", "room": "fuzz", "since": {"us-east-1": -1}}',
  ),
);

const anyFrameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: validFrame.map((frame) => JSON.stringify(frame)) },
  { weight: 4, arbitrary: mutatedFrame.map((frame) => JSON.stringify(frame)) },
  { weight: 3, arbitrary: rawText },
);

const isRefused = (text: string): boolean => !parseClientFrame(text, MAX_BODY_BYTES).ok;

/**
 * The JSON text of a value nested `depth` deep (`[]` and `{}` have depth 1), written as text: a
 * value that deep would overflow `JSON.stringify` inside the generator's own deep stack.
 */
const nestedText = (depth: number, kind: 'array' | 'object'): string =>
  kind === 'array'
    ? `${'['.repeat(depth)}0${']'.repeat(depth)}`
    : `${'{"k":'.repeat(depth)}0${'}'.repeat(depth)}`;

/** The largest message API Gateway delivers (128 KiB, over several frames): what a route can receive. */
const MAX_MESSAGE_BYTES = 128 * 1024;

/** A `since` of `count` origins, well-formed (`xx-name-<n>`) or made up. */
const cursorOf = (count: number, wellFormed: boolean): Record<string, number> =>
  Object.fromEntries(
    Array.from({ length: count }, (_, index) => [wellFormed ? `us-east-${index}` : `origin ${index}`, index]),
  );

/** Hostile frames: bodies nested up to 5,000 deep, messages up to 128 KB, cursors of thousands of keys. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 33, max: 5_000 }),
      fc.constantFrom<'array' | 'object'>('array', 'object'),
      validRoom,
    )
    .map(
      ([depth, kind, room]) =>
        `{"action":"send","room":${JSON.stringify(room)},"id":"deep","body":${nestedText(depth, kind)}}`,
    ),
  fc
    .tuple(
      fc.integer({ min: 33, max: 5_000 }),
      // Each a field its action reads (a field no action reads is ignored, however deep).
      fc.constantFrom(
        ['join', 'since'],
        ['join', 'room'],
        ['history', 'limit'],
        ['history', 'before'],
        ['presence', 'after'],
        ['leave', 'room'],
        ['ping', 'ref'],
      ),
    )
    .map(
      ([depth, [action, key]]) =>
        `{"action":"${action}","room":"fuzz","${key}":${nestedText(depth, key === 'since' ? 'object' : 'array')}}`,
    ),
  fc
    .integer({ min: MAX_BODY_BYTES + 1, max: MAX_MESSAGE_BYTES - 100 })
    .map((length) => JSON.stringify({ action: 'send', room: 'fuzz', id: 'big', body: 'z'.repeat(length) })),
  fc
    .tuple(fc.integer({ min: 17, max: 5_000 }), fc.boolean())
    .map(([count, wellFormed]) =>
      JSON.stringify({ action: 'join', room: 'fuzz', since: cursorOf(count, wellFormed) }),
    ),
  fc
    .integer({ min: MAX_PAGE_TOKEN_LENGTH + 1, max: MAX_MESSAGE_BYTES - 100 })
    .map((length) => JSON.stringify({ action: 'presence', room: 'fuzz', after: 'n'.repeat(length) })),
);

// --- Setup ------------------------------------------------------------------------------------

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  server = await startConnectionsServer();
  tableName = await createTable(new DynamoDBClient(ddb.clientConfig));
  scanClient = documentClient(new DynamoDBClient(ddb.clientConfig));
  useHandlerEnvironment({
    tableName,
    connectionsEndpoint: server.endpoint,
    dynamoDbEndpoint: ddb.endpoint,
    extra: {
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      SEND_BURST: '100000',
      SEND_RATE_PER_SECOND: '10000',
      MAX_CONNECTIONS_PER_USER: '100000',
    },
  });
  const handlers = {
    join: (await import('../../lambdas/handlers/join.js')).handler,
    leave: (await import('../../lambdas/handlers/leave.js')).handler,
    send: (await import('../../lambdas/handlers/send.js')).handler,
    history: (await import('../../lambdas/handlers/history.js')).handler,
    presence: (await import('../../lambdas/handlers/presence.js')).handler,
    ping: (await import('../../lambdas/handlers/ping.js')).handler,
  };
  routes = handlers as unknown as Record<string, Route>;
  fallback = (await import('../../lambdas/handlers/default.js')).handler as unknown as Route;
  // Some state for the refused frames to leave alone: a member with messages in the room.
  const connect = (await import('../../lambdas/handlers/connect.js')).handler as unknown as Route;
  await connect(connectEvent(MEMBER, 'fuzzer'), lambdaContext());
  await deliverFrame(JSON.stringify({ action: 'join', room: 'fuzz' }), MEMBER);
  for (const id of ['m1', 'm2']) {
    await deliverFrame(JSON.stringify({ action: 'send', room: 'fuzz', id, body: { n: id } }), MEMBER);
  }
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await stopDynamoDbLocal(ddb);
});

// --- Properties -------------------------------------------------------------------------------

describe('Fuzz: frames to every route', () => {
  it('answers every refused frame with one error frame and changes no stored item', async () => {
    const refused = anyFrameText.filter(isRefused);
    const routeNames = fc.constantFrom<string | undefined>(
      undefined,
      undefined,
      undefined,
      ...Object.keys({ join: 1, leave: 1, send: 1, history: 1, presence: 1, ping: 1, $default: 1 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(refused, routeNames, fc.boolean()), { minLength: 1, maxLength: BATCH }),
        async (batch) => {
          const before = await snapshot();
          for (const [text, routeName, asMember] of batch) {
            // Also through the wrong route (a misrouted integration must refuse it the same way).
            const route =
              routeName === undefined ? undefined : routeName === '$default' ? fallback : routes[routeName];
            const reply = await deliverFrame(text, asMember ? MEMBER : 'fz-stranger', route);
            expect(reply.type).toBe('error');
            expect(['bad_request', 'payload_too_large']).toContain(reply.code);
          }
          expect(await snapshot()).toEqual(before);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: INVALID_RUNS },
    );
  }, 180_000);

  it('refuses hostile frames (nested 5,000 deep, 128 KB, cursors of thousands of keys) and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, fc.boolean(), async (text, asMember) => {
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        const before = await snapshot();
        const reply = await deliverFrame(text, asMember ? MEMBER : 'fz-hostile');
        expect(reply.type).toBe('error');
        expect(['bad_request', 'payload_too_large']).toContain(reply.code);
        expect(await snapshot()).toEqual(before);
      }),
      { numRuns: HOSTILE_RUNS },
    );
  }, 180_000);

  it('answers every frame, valid or not, with exactly one valid direct reply and never throws', async () => {
    let connection = 0;
    await fc.assert(
      fc.asyncProperty(anyFrameText, fc.boolean(), async (text, asMember) => {
        connection += 1;
        const reply = await deliverFrame(text, asMember ? MEMBER : `fz-${connection}`);
        if (isRefused(text)) expect(reply.type).toBe('error');
        else if (reply.type === 'error') {
          // A well-formed frame may still be refused by the rules, never with internal.
          expect(['forbidden', 'rate_limited', 'bad_request']).toContain(reply.code);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: MIXED_RUNS },
    );
    expect(frameCount).toBeGreaterThan(MIXED_RUNS + INVALID_RUNS);
  }, 180_000);
});
