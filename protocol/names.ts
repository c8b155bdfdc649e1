/**
 * The protocol's name rules: rooms, message ids, origins, each with the one message that states
 * it, for the server's validation, the SDK's early checks and the terminal chat's arguments alike.
 */

/** Room names. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** What a bad room name is told. */
export const ROOM_RULE = 'room must match ^[A-Za-z0-9_.:-]{1,128}$';
/** Message ids (client-chosen idempotency keys). */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** What a bad message id is told. */
export const MESSAGE_ID_RULE = 'id must match ^[A-Za-z0-9_.:-]{1,64}$';
/** Origins as servers write them: a region name, or `global` in strong mode. */
export const ORIGIN_PATTERN = /^[a-z0-9-]{1,32}$/;
/** What a bad origin is told. */
export const ORIGIN_RULE = 'origin must be a region name or "global"';
/** A well-formed origin in a client's `since`: an AWS region name, or `global`. */
export const CURSOR_ORIGIN_PATTERN = /^(?:[a-z]{2}(-[a-z]+)+-[0-9]+|global)$/;
/** What a bad `since` origin is told. */
export const CURSOR_ORIGIN_RULE = 'each origin of since must be a region name such as us-east-1, or "global"';
/** Longest user id (a token's `sub`). */
export const MAX_USER_LENGTH = 128;

/** Whether `room` is a valid room name. */
export const isRoomName = (room: string): boolean => ROOM_PATTERN.test(room);
/** Whether `id` is a valid message id. */
export const isMessageId = (id: string): boolean => MESSAGE_ID_PATTERN.test(id);
