/**
 * The schema library and the building blocks every frame uses: names, refs, cursors and JSON
 * bodies. zod/mini, not classic zod: the same validation core without the chainable methods, so
 * every Lambda bundle (and the web page) carries about 70 KB less. A namespace import, so bundlers
 * can drop the parts of zod this module does not use.
 */
import * as z from 'zod/mini';
// The English messages alone (the `z.locales` namespace would bundle every language).
import en from 'zod/v4/locales/en.js';
import { MAX_CURSOR_KEYS, MAX_REF_LENGTH } from './limits.js';
import {
  CURSOR_ORIGIN_PATTERN,
  CURSOR_ORIGIN_RULE,
  MESSAGE_ID_PATTERN,
  MESSAGE_ID_RULE,
  ORIGIN_PATTERN,
  ORIGIN_RULE,
  ROOM_PATTERN,
  ROOM_RULE,
} from './names.js';

// zod/mini has no locale of its own: without this, every default message would be "Invalid input",
// and the `bad_request` messages built from them (e.g. "limit: Too big: expected number to be <=100")
// would change. The setting is global to zod and is what classic zod sets when it loads, so code
// that also uses classic zod (the local stack) sees no difference. Kept by bundlers: this module
// is ours, not a side-effect-free package.
z.config(en());

export { z };

export const roomSchema = z.string().check(z.regex(ROOM_PATTERN, ROOM_RULE));
export const messageIdSchema = z.string().check(z.regex(MESSAGE_ID_PATTERN, MESSAGE_ID_RULE));
export const refSchema = z
  .string()
  .check(z.maxLength(MAX_REF_LENGTH, `ref must be at most ${MAX_REF_LENGTH} characters`));
/** An origin is a region name, or `global` in strong mode. */
export const originSchema = z.string().check(z.regex(ORIGIN_PATTERN, ORIGIN_RULE));
/** A cursor: the highest seq seen per origin. */
export const cursorSchema = z.record(originSchema, z.number().check(z.int(), z.nonnegative()));
export type Cursor = z.infer<typeof cursorSchema>;
/**
 * A client's `since`: a cursor of at most {@link MAX_CURSOR_KEYS} well-formed origins, so one
 * `join` can ask for a bounded number of origins' messages.
 */
export const sinceSchema = z
  .record(
    z.string().check(z.regex(CURSOR_ORIGIN_PATTERN, CURSOR_ORIGIN_RULE)),
    z.number().check(z.int(), z.nonnegative()),
  )
  .check(
    z.refine((cursor) => Object.keys(cursor).length <= MAX_CURSOR_KEYS, {
      message: `since holds at most ${MAX_CURSOR_KEYS} origins`,
    }),
  );

/**
 * Any JSON value (a message body). Size is checked separately, on the serialized form. Every value
 * checked comes from `JSON.parse`, so it has no reference cycles (classic zod tracks them, zod/mini
 * does not: a cyclic object would overflow the stack here).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export const jsonValueSchema: z.ZodMiniType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
);

/** The field every client frame may carry, and the direct reply to it echoes. */
export const refField = { ref: z.optional(refSchema) };
