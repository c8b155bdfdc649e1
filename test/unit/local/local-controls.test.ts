/**
 * The global endpoint's `/_local` guards over real sockets, with the stack's real controls: a
 * request that changes state needs `Content-Type: application/json` (a bodiless DELETE too) and
 * every `/_local` request a loopback `Host`; a refused one is answered 403 with a `{ message }` and
 * changes nothing (read back with GET: the faults, the outages, the handlers run). Well-formed
 * requests work as before.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalFixture, REGION, send, startFixture } from './local-fixture.js';

let fixture: LocalFixture;
let host: string;
const JSON_TYPE = { 'content-type': 'application/json' };

beforeAll(async () => {
  fixture = await startFixture();
  host = `127.0.0.1:${fixture.globalPort}`;
});
afterAll(async () => {
  await fixture?.stop();
});
beforeEach(() => {
  fixture.faults.clear();
  fixture.outages.clear();
});

const faults = async (): Promise<unknown> => {
  const answer = await send(fixture.globalPort, 'GET', '/_local/faults');
  expect(answer.status).toBe(200);
  return (answer.body as { faults: unknown }).faults;
};
const THROTTLE = JSON.stringify({ connections: { throttle: 0.5 } });

describe('POST /_local/faults', () => {
  it.each([
    ['no content type', {}],
    ['text/plain (what fetch sends for a string body)', { 'content-type': 'text/plain;charset=UTF-8' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('is refused with %s: 403, a message, the faults as they were', async (_what, headers) => {
    const answer = await send(fixture.globalPort, 'POST', '/_local/faults', headers, THROTTLE);
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({
      message: expect.stringContaining('must be sent with Content-Type: application/json'),
    });
    expect(await faults()).toEqual({});
  });

  it.each(['evil.example', `evil.example:4510`, '192.0.2.2:4510'])(
    'is refused with Host %s, even with the JSON content type, and changes nothing',
    async (evil) => {
      const answer = await send(
        fixture.globalPort,
        'POST',
        '/_local/faults',
        { ...JSON_TYPE, host: evil },
        THROTTLE,
      );
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ message: expect.stringContaining(`not ${JSON.stringify(evil)}`) });
      expect(await faults()).toEqual({});
    },
  );

  it.each([
    ['127.0.0.1', () => host],
    ['localhost', () => `localhost:${fixture.globalPort}`],
    ['[::1]', () => `[::1]:${fixture.globalPort}`],
  ])('works with the JSON content type and Host %s', async (_name, hostOf) => {
    const answer = await send(
      fixture.globalPort,
      'POST',
      '/_local/faults',
      { ...JSON_TYPE, host: hostOf() },
      THROTTLE,
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ faults: { connections: { throttle: 0.5 } }, dropped: 0 });
    expect(await faults()).toMatchObject({ connections: { throttle: 0.5, gone: 0 } });
  });

  it('still answers 400 for a bad body sent the right way', async () => {
    const answer = await send(fixture.globalPort, 'POST', '/_local/faults', JSON_TYPE, '{"nonsense":true}');
    expect(answer.status).toBe(400);
  });
});

describe('DELETE /_local/faults', () => {
  it('is refused without the JSON content type, though it has no body, and the faults stay', async () => {
    fixture.faults.set({ connections: { throttle: 0.5 } });
    const answer = await send(fixture.globalPort, 'DELETE', '/_local/faults');
    expect(answer.status).toBe(403);
    expect(await faults()).toMatchObject({ connections: { throttle: 0.5 } });
  });

  it('clears the faults with the JSON content type', async () => {
    fixture.faults.set({ connections: { throttle: 0.5 } });
    const answer = await send(fixture.globalPort, 'DELETE', '/_local/faults', JSON_TYPE);
    expect(answer.status).toBe(200);
    expect(await faults()).toEqual({});
  });
});

describe('the other /_local controls', () => {
  const outagePath = `/_local/regions/${REGION}/outage`;
  const regionState = async (): Promise<unknown> => {
    const answer = await send(fixture.globalPort, 'GET', '/_local/regions');
    return (answer.body as { regions: { state: string }[] }).regions[0]?.state;
  };

  it('a region outage: refused without the content type or with a foreign Host; started and ended with them', async () => {
    expect((await send(fixture.globalPort, 'POST', outagePath)).status).toBe(403);
    expect(
      (await send(fixture.globalPort, 'POST', outagePath, { ...JSON_TYPE, host: 'evil.example' })).status,
    ).toBe(403);
    expect(await regionState()).toBe('healthy');
    expect(fixture.outages.size).toBe(0);

    const started = await send(fixture.globalPort, 'POST', outagePath, JSON_TYPE);
    expect(started).toMatchObject({ status: 200, body: { name: REGION, state: 'outage' } });
    expect((await send(fixture.globalPort, 'DELETE', outagePath)).status).toBe(403);
    expect(await regionState()).toBe('outage');
    const ended = await send(fixture.globalPort, 'DELETE', outagePath, JSON_TYPE);
    expect(ended).toMatchObject({ status: 200, body: { state: 'healthy' } });
  });

  it('a redrive: refused without the content type, the handler not run; run with it', async () => {
    const path = `/_local/regions/${REGION}/redrive`;
    const before = fixture.calls.length;
    const body = '{"kind":"stream"}';
    expect(
      (await send(fixture.globalPort, 'POST', path, { 'content-type': 'text/plain' }, body)).status,
    ).toBe(403);
    expect(fixture.calls.slice(before)).toEqual([]);
    const answer = await send(fixture.globalPort, 'POST', path, JSON_TYPE, body);
    expect(answer).toMatchObject({ status: 200, body: { redriven: { kind: 'stream' } } });
    expect(fixture.calls.slice(before)).toEqual(['redrive']);
  });

  it('GET /_local/token: refused with a foreign Host, a token with a loopback one', async () => {
    const refused = await send(fixture.globalPort, 'GET', '/_local/token?user=zoe', { host: 'evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.body).not.toHaveProperty('token');
    const issued = await send(fixture.globalPort, 'GET', '/_local/token?user=zoe', { host });
    expect(issued.status).toBe(200);
    expect((issued.body as { token: string }).token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('GET /_local/regions needs a loopback Host too', async () => {
    expect((await send(fixture.globalPort, 'GET', '/_local/regions', { host: 'evil.example' })).status).toBe(
      403,
    );
    expect((await send(fixture.globalPort, 'GET', '/_local/regions')).status).toBe(200);
  });
});
