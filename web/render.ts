/**
 * Rendering: the page's elements, and the functions that write the connection, the regions, the
 * rooms, the members and the messages into them. Every piece of message data reaches the DOM
 * through `textContent`, never as markup.
 *
 * @example
 * ```ts
 * renderMessages(ui, 'lobby', view, true); // keeps the log scrolled to the bottom if it was
 * ```
 */
import type { Member, MessageFrame, ParleyClient } from '../client/index.js';
import { ParleyError } from '../client/index.js';
import { groupMembers, moreMembers, unlistedCount } from '../client/members.js';
import type { RegionsView } from './local-api.js';
import { type RoomView, sortedMessages } from './room-views.js';

/** The elements of `index.html` the page script works with. */
export interface PageElements {
  signin: HTMLElement;
  signinForm: HTMLFormElement;
  user: HTMLInputElement;
  firstRoom: HTMLInputElement;
  signinError: HTMLElement;
  app: HTMLElement;
  state: HTMLElement;
  region: HTMLElement;
  endpoint: HTMLElement;
  whoami: HTMLElement;
  notice: HTMLElement;
  rooms: HTMLUListElement;
  joinForm: HTMLFormElement;
  roomInput: HTMLInputElement;
  members: HTMLUListElement;
  regions: HTMLUListElement;
  roomTitle: HTMLElement;
  leave: HTMLButtonElement;
  log: HTMLElement;
  older: HTMLButtonElement;
  messages: HTMLOListElement;
  composer: HTMLFormElement;
  messageInput: HTMLInputElement;
  chatError: HTMLElement;
}

/** A new element, with its text (as text, never markup) and class. */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  if (className !== undefined) element.className = className;
  return element;
};

/** An error as the page shows it: a Parley error with its code. */
export const describe = (error: unknown): string =>
  error instanceof ParleyError
    ? `${error.message} (${error.code})`
    : error instanceof Error
      ? error.message
      : String(error);

const formatTime = (ts: number): string =>
  new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const formatBody = (body: MessageFrame['body']): string =>
  typeof body === 'string' ? body : JSON.stringify(body);

/** Shows the notice line (a failover, a reconnect, a disconnect). */
export const showNotice = (ui: PageElements, text: string): void => {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
};

/** The region the client is connected to: as the server said, else the one whose endpoint it uses. */
export const connectedRegion = (
  client: ParleyClient | undefined,
  regions: RegionsView | undefined,
): string | undefined => {
  if (client === undefined) return undefined;
  const { region, endpoint } = client.connection;
  return region ?? regions?.regions.find((r) => r.endpoint === endpoint)?.name;
};

/** The connection's state, region and endpoint (global or regional). */
export const renderConnection = (
  ui: PageElements,
  client: ParleyClient | undefined,
  regions: RegionsView | undefined,
): void => {
  if (client === undefined) return;
  const { endpoint } = client.connection;
  const regional = (regions?.regions ?? []).some((r) => r.endpoint === endpoint);
  const region = connectedRegion(client, regions);
  ui.state.dataset.state = client.state;
  ui.state.textContent = client.state;
  ui.region.textContent = region !== undefined ? `region: ${region}` : 'region: unknown';
  ui.region.dataset.region = region ?? '';
  ui.endpoint.textContent = `${regional ? 'regional endpoint' : 'global endpoint'} ${endpoint}`;
};

/** The regions, their health, and which one the page is connected to. */
export const renderRegions = (
  ui: PageElements,
  regions: RegionsView | undefined,
  connected: string | undefined,
): void => {
  const items = (regions?.regions ?? []).map((info) => {
    const item = el('li');
    const health = info.state === 'outage' ? 'outage' : (info.healthCheck ?? info.state);
    item.textContent = `${info.name}${info.primary ? ' (primary)' : ''}: ${health}${info.name === connected ? ' ← connected' : ''}`;
    item.dataset.region = info.name;
    item.dataset.state = info.state;
    item.dataset.connected = String(info.name === connected);
    return item;
  });
  ui.regions.replaceChildren(...items);
};

/** The joined rooms, the current one marked, each with its unread count; a click calls `select`. */
export const renderRooms = (
  ui: PageElements,
  rooms: ReadonlyMap<string, RoomView>,
  current: string | undefined,
  select: (room: string) => void,
): void => {
  const items = [...rooms.entries()].map(([room, view]) => {
    const item = el('li');
    item.dataset.room = room;
    item.setAttribute('aria-current', String(room === current));
    item.append(el('span', `#${room}`));
    if (view.unread > 0) item.append(el('span', String(view.unread), 'badge'));
    item.addEventListener('click', () => select(room));
    return item;
  });
  ui.rooms.replaceChildren(...items);
};

/**
 * The current room's members, one line per user with the regions it is connected from, and a last
 * line with how many more the room has when the list was cut (`memberCount` beyond those listed).
 */
export const renderMembers = (
  ui: PageElements,
  members: Member[] | undefined,
  memberCount?: number,
): void => {
  if (members === undefined) {
    ui.members.replaceChildren();
    return;
  }
  const items = groupMembers(members).map(({ user, regions }) => {
    const item = el('li', `${user} (${regions.join(', ')})`);
    item.dataset.user = user;
    return item;
  });
  const unlisted = unlistedCount(members.length, memberCount);
  if (unlisted > 0) {
    items.push(el('li', `${items.length > 0 ? 'and ' : ''}${moreMembers(unlisted)}`, 'more'));
  }
  ui.members.replaceChildren(...items);
};

const messageItem = (message: MessageFrame): HTMLLIElement => {
  const item = el('li');
  item.dataset.origin = message.origin;
  item.dataset.seq = String(message.seq);
  item.dataset.id = message.id;
  const time = el('time', formatTime(message.ts));
  time.dateTime = new Date(message.ts).toISOString();
  item.append(time, el('span', message.from, 'from'), el('span', formatBody(message.body), 'body'));
  return item;
};

/**
 * The current room's title and messages. With `keepBottom`, a log that was scrolled to the bottom
 * stays there (a new message); without, the scroll position is the caller's.
 */
export const renderMessages = (
  ui: PageElements,
  current: string | undefined,
  view: RoomView | undefined,
  keepBottom: boolean,
): void => {
  ui.roomTitle.textContent = current === undefined ? 'No room' : `#${current}`;
  ui.leave.hidden = current === undefined;
  ui.composer.hidden = current === undefined;
  if (view === undefined) {
    ui.messages.replaceChildren();
    ui.older.hidden = true;
    return;
  }
  const wasAtBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
  ui.messages.replaceChildren(...sortedMessages(view).map(messageItem));
  ui.older.hidden = view.historyDone;
  if (keepBottom && wasAtBottom) ui.log.scrollTop = ui.log.scrollHeight;
};
