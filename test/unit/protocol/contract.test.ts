/**
 * `docs/protocol.md` is the human contract; `protocol/` is the code. This test reads the
 * document's tables of actions, frames and error codes and checks them against the schemas, so the
 * two cannot drift: an action, a field, a frame or a code added to one and not the other fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ACTIONS,
  CLIENT_FRAME_SCHEMAS,
  ERROR_CODES,
  SERVER_FRAME_SCHEMAS,
  SERVER_FRAME_TYPES,
} from '../../../protocol/index.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The text of one `###` section. */
const section = (title: string): string => {
  const start = doc.indexOf(`### ${title}`);
  if (start < 0) throw new Error(`docs/protocol.md has no section "${title}"`);
  const end = doc.slice(start + 4).search(/\n#{2,3} /);
  return end < 0 ? doc.slice(start) : doc.slice(start, start + 4 + end);
};

/** The rows of the first table in `text`, as cells. */
const tableRows = (text: string): string[][] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .slice(1)
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );

type Shape = Record<string, { _zod: { optin?: string } }>;
const shapeOf = (schema: unknown): Shape => (schema as { shape: Shape }).shape;

/** The field names of a `{a, b?, c: [...]}` list (nested brackets left whole). */
const braceFields = (text: string): string[] => {
  const inner = text.slice(text.indexOf('{') + 1, text.lastIndexOf('}'));
  const fields: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of inner) {
    if ('[{('.includes(char)) depth += 1;
    if (']})'.includes(char)) depth -= 1;
    if (char === ',' && depth === 0) {
      fields.push(current);
      current = '';
    } else current += char;
  }
  fields.push(current);
  // An optional field is written `name?`.
  return fields
    .map((field) => (field.trim().split(/[:\s]/)[0] as string).replace(/\?$/, ''))
    .filter((field) => field !== '');
};

describe('docs/protocol.md against protocol/', () => {
  const clientRows = tableRows(section('Client to server'));

  it('lists exactly the client actions, in their order', () => {
    expect(clientRows.map((row) => row[0]?.replaceAll('`', ''))).toEqual([...CLIENT_ACTIONS]);
  });

  it.each(clientRows.map((row) => [row[0]?.replaceAll('`', '') ?? '', row] as const))(
    "%s: the fields and their optionality are the schema's, and the reply is a server frame with those fields",
    (action, row) => {
      const shape = shapeOf(CLIENT_FRAME_SCHEMAS[action as keyof typeof CLIENT_FRAME_SCHEMAS]);
      // Parenthetical remarks, such as "(a `ts`)", name no field.
      const documented = [...(row[1] ?? '').replace(/\([^)]*\)/g, '').matchAll(/`([a-zA-Z]+)(\?)?`/g)].map(
        (m) => ({
          name: m[1] as string,
          optional: m[2] === '?',
        }),
      );
      const schema = Object.entries(shape)
        .filter(([name]) => name !== 'action' && name !== 'ref')
        .map(([name, field]) => ({ name, optional: field._zod.optin === 'optional' }));
      expect(documented).toEqual(schema);
      const reply = /^`([a-z]+)` `(\{[^`]*\})`/.exec(row[2] ?? '');
      expect(reply, `the reply of ${action}`).not.toBeNull();
      const type = reply?.[1] as keyof typeof SERVER_FRAME_SCHEMAS;
      expect(SERVER_FRAME_TYPES).toContain(type);
      const replyShape = Object.keys(shapeOf(SERVER_FRAME_SCHEMAS[type]));
      for (const field of braceFields(reply?.[2] ?? '')) expect(replyShape).toContain(field);
    },
  );

  const serverText = section('Server to client');

  it('documents the message and presence-event frames with exactly their fields', () => {
    const message = /`message` `(\{[^`]*\})`/.exec(serverText)?.[1] ?? '';
    expect(braceFields(message).sort()).toEqual(
      Object.keys(shapeOf(SERVER_FRAME_SCHEMAS.message))
        .filter((field) => field !== 'type')
        .sort(),
    );
    const event = /`presence` `(\{[^`]*\})`/.exec(serverText)?.[1] ?? '';
    for (const field of braceFields(event))
      expect(Object.keys(shapeOf(SERVER_FRAME_SCHEMAS.presence))).toContain(field);
  });

  it('documents the error frame and exactly the error codes, in their order', () => {
    const error = /`error` `(\{[^`]*\})`/.exec(serverText)?.[1] ?? '';
    expect(
      braceFields(error)
        .map((field) => field.replace('?', ''))
        .sort(),
    ).toEqual(
      Object.keys(shapeOf(SERVER_FRAME_SCHEMAS.error))
        .filter((field) => field !== 'type')
        .sort(),
    );
    const codes = /`code` is one of ([^;.]*(?:\n[^;.]*)*?)\./.exec(serverText)?.[1] ?? '';
    expect([...codes.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])).toEqual([...ERROR_CODES]);
  });

  it('every server frame type is documented, as a reply or a server-to-client frame', () => {
    const documented = new Set([
      ...clientRows.map((row) => /^`([a-z]+)`/.exec(row[2] ?? '')?.[1]),
      ...[...serverText.matchAll(/^- `([a-z]+)`/gm)].map((m) => m[1]),
    ]);
    for (const type of SERVER_FRAME_TYPES) expect(documented).toContain(type);
  });
});
