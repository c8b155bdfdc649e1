/**
 * The web chat page, on the client SDK. Sign in with a user name (a local token), join and leave
 * rooms, send, read history by scrolling up, see who is here, which region the page is connected
 * to and the connection's state, and a notice after a failover saying how many missed messages
 * the resume replayed.
 *
 * Every piece of message data reaches the DOM through `textContent`, never as markup.
 */
import {
  type Member,
  type MessageFrame,
  ParleyClient,
  ParleyError,
  type StateEvent,
} from '../client/index.js';
import {
  endpointsFromRegions,
  fetchRegions,
  fetchToken,
  pageWebSocketUrl,
  preferredRegionOf,
  type RegionsView,
} from './local-api.js';

const HISTORY_PAGE = 50;
/** Messages kept per room in the page. */
const MAX_MESSAGES = 2_000;
const REGIONS_REFRESH_MS = 2_000;
/** Tokens from the local stack last a day; fetch a new one for connections after an hour. */
const TOKEN_REFRESH_MS = 3_600_000;

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
};

const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  if (className !== undefined) element.className = className;
  return element;
};

const ui = {
  signin: byId<HTMLElement>('signin'),
  signinForm: byId<HTMLFormElement>('signin-form'),
  user: byId<HTMLInputElement>('user'),
  firstRoom: byId<HTMLInputElement>('first-room'),
  signinError: byId<HTMLElement>('signin-error'),
  app: byId<HTMLElement>('app'),
  state: byId<HTMLElement>('state'),
  region: byId<HTMLElement>('region'),
  endpoint: byId<HTMLElement>('endpoint'),
  whoami: byId<HTMLElement>('whoami'),
  notice: byId<HTMLElement>('notice'),
  rooms: byId<HTMLUListElement>('rooms'),
  joinForm: byId<HTMLFormElement>('join-form'),
  roomInput: byId<HTMLInputElement>('room-input'),
  members: byId<HTMLUListElement>('members'),
  regions: byId<HTMLUListElement>('regions'),
  roomTitle: byId<HTMLElement>('room-title'),
  leave: byId<HTMLButtonElement>('leave'),
  log: byId<HTMLElement>('log'),
  older: byId<HTMLButtonElement>('older'),
  messages: byId<HTMLOListElement>('messages'),
  composer: byId<HTMLFormElement>('composer'),
  messageInput: byId<HTMLInputElement>('message-input'),
  chatError: byId<HTMLElement>('chat-error'),
};

/** What the page keeps per joined room. */
interface RoomView {
  /** By `origin:seq`, so history and live traffic never show a message twice. */
  messages: Map<string, MessageFrame>;
  /** `before` of the next older history page; undefined once the start was reached. */
  nextBefore: number | undefined;
  historyDone: boolean;
  loadingHistory: boolean;
  unread: number;
}

let client: ParleyClient | undefined;
let regionsDoc: RegionsView | undefined;
const rooms = new Map<string, RoomView>();
let current: string | undefined;
/** Messages replayed by resumes since the last reconnect began, for the notice. */
let caughtUpSinceReconnect = 0;
let reconnecting = false;

const keyOf = (message: MessageFrame): string => `${message.origin}:${message.seq}`;

const describe = (error: unknown): string =>
  error instanceof ParleyError
    ? `${error.message} (${error.code})`
    : error instanceof Error
      ? error.message
      : String(error);

const formatTime = (ts: number): string =>
  new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const formatBody = (body: MessageFrame['body']): string =>
  typeof body === 'string' ? body : JSON.stringify(body);

const showNotice = (text: string): void => {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
};

// ---- rendering ----

const regionName = (): string | undefined => {
  if (client === undefined) return undefined;
  const { region, endpoint } = client.connection;
  return region ?? regionsDoc?.regions.find((r) => r.endpoint === endpoint)?.name;
};

const renderConnection = (): void => {
  if (client === undefined) return;
  const { endpoint } = client.connection;
  const regional = (regionsDoc?.regions ?? []).some((r) => r.endpoint === endpoint);
  const region = regionName();
  ui.state.dataset.state = client.state;
  ui.state.textContent = client.state;
  ui.region.textContent = region !== undefined ? `region: ${region}` : 'region: unknown';
  ui.region.dataset.region = region ?? '';
  ui.endpoint.textContent = `${regional ? 'regional endpoint' : 'global endpoint'} ${endpoint}`;
};

const renderRegions = (): void => {
  const region = regionName();
  const items = (regionsDoc?.regions ?? []).map((info) => {
    const item = el('li');
    const health = info.state === 'outage' ? 'outage' : (info.healthCheck ?? info.state);
    item.textContent = `${info.name}${info.primary ? ' (primary)' : ''}: ${health}${info.name === region ? ' ← connected' : ''}`;
    item.dataset.region = info.name;
    item.dataset.state = info.state;
    item.dataset.connected = String(info.name === region);
    return item;
  });
  ui.regions.replaceChildren(...items);
};

const renderRooms = (): void => {
  const items = [...rooms.entries()].map(([room, view]) => {
    const item = el('li');
    item.dataset.room = room;
    item.setAttribute('aria-current', String(room === current));
    item.append(el('span', `#${room}`));
    if (view.unread > 0) item.append(el('span', String(view.unread), 'badge'));
    item.addEventListener('click', () => selectRoom(room));
    return item;
  });
  ui.rooms.replaceChildren(...items);
};

const renderMembers = (): void => {
  if (client === undefined || current === undefined) {
    ui.members.replaceChildren();
    return;
  }
  const byUser = new Map<string, Set<string>>();
  for (const member of client.members(current) as Member[]) {
    const regions = byUser.get(member.user) ?? new Set<string>();
    regions.add(member.region);
    byUser.set(member.user, regions);
  }
  const items = [...byUser.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([user, regions]) => {
      const item = el('li', `${user} (${[...regions].join(', ')})`);
      item.dataset.user = user;
      return item;
    });
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

const sortedMessages = (view: RoomView): MessageFrame[] =>
  [...view.messages.values()].sort(
    (a, b) => a.ts - b.ts || a.origin.localeCompare(b.origin) || a.seq - b.seq,
  );

const renderMessages = (keepBottom: boolean): void => {
  const view = current === undefined ? undefined : rooms.get(current);
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

// ---- rooms ----

const newView = (): RoomView => ({
  messages: new Map(),
  nextBefore: undefined,
  historyDone: false,
  loadingHistory: false,
  unread: 0,
});

const addMessages = (view: RoomView, messages: MessageFrame[]): void => {
  for (const message of messages) view.messages.set(keyOf(message), message);
  if (view.messages.size <= MAX_MESSAGES) return;
  // Keep the newest: drop the oldest beyond the cap (history can bring them back).
  for (const message of sortedMessages(view).slice(0, view.messages.size - MAX_MESSAGES)) {
    view.messages.delete(keyOf(message));
  }
  view.historyDone = false;
};

const selectRoom = (room: string): void => {
  current = room;
  const view = rooms.get(room);
  if (view !== undefined) view.unread = 0;
  renderRooms();
  renderMembers();
  renderMessages(false);
  ui.log.scrollTop = ui.log.scrollHeight;
};

/**
 * Whether the view holds the first message (seq 1) of every origin the room has: nothing older
 * exists, so no request for an empty page is needed to know it.
 */
const startReached = (room: string, view: RoomView): boolean => {
  const origins = Object.keys(client?.cursor(room) ?? {});
  return origins.length > 0 && origins.every((origin) => view.messages.has(`${origin}:1`));
};

/** Loads the next older history page of a room, keeping the reader's place in the log. */
const loadOlder = async (room: string): Promise<void> => {
  const view = rooms.get(room);
  if (client === undefined || view === undefined || view.loadingHistory || view.historyDone) return;
  view.loadingHistory = true;
  try {
    const page = await client.history(room, { limit: HISTORY_PAGE, before: view.nextBefore });
    const heightBefore = ui.log.scrollHeight;
    addMessages(view, page.messages);
    view.nextBefore = page.nextBefore;
    view.historyDone = page.nextBefore === undefined || startReached(room, view);
    if (room === current) {
      renderMessages(false);
      ui.log.scrollTop += ui.log.scrollHeight - heightBefore;
    }
  } catch (error) {
    ui.chatError.textContent = `history: ${describe(error)}`;
  } finally {
    view.loadingHistory = false;
  }
};

const joinRoom = async (room: string): Promise<void> => {
  if (client === undefined) return;
  ui.chatError.textContent = '';
  // The view exists before the join, so live messages that follow `joined` at once have a home.
  const created = !rooms.has(room);
  if (created) rooms.set(room, newView());
  try {
    await client.join(room);
  } catch (error) {
    if (created) rooms.delete(room);
    ui.chatError.textContent = `could not join #${room}: ${describe(error)}`;
    return;
  }
  selectRoom(room);
  await loadOlder(room);
  if (room === current) ui.log.scrollTop = ui.log.scrollHeight;
};

const leaveRoom = async (room: string): Promise<void> => {
  if (client === undefined) return;
  rooms.delete(room);
  if (current === room) current = rooms.keys().next().value;
  renderRooms();
  renderMembers();
  renderMessages(false);
  try {
    await client.leave(room);
  } catch (error) {
    ui.chatError.textContent = `leave: ${describe(error)}`;
  }
};

// ---- the client ----

const onState = (event: StateEvent): void => {
  if (event.state === 'reconnecting' || event.state === 'failed-over') {
    if (!reconnecting) caughtUpSinceReconnect = 0;
    reconnecting = true;
  }
  if (event.state === 'failed-over') {
    showNotice(
      event.reason === 'preferred-recovered'
        ? `moving back to ${event.endpoint}`
        : `${event.from} is unreachable, failing over to ${event.endpoint}`,
    );
  }
  if (event.state === 'closed') showNotice(`disconnected: ${event.reason}`);
  renderConnection();
  renderRegions();
};

const startClient = (
  user: string,
  endpoints: ReturnType<typeof endpointsFromRegions>,
  token: string,
): void => {
  let cached = { token, at: Date.now() };
  client = new ParleyClient({
    endpoints,
    token: async () => {
      if (Date.now() - cached.at > TOKEN_REFRESH_MS)
        cached = { token: await fetchToken(user), at: Date.now() };
      return cached.token;
    },
  });
  client.on('state', onState);
  client.on('joined', () => {
    renderConnection();
    renderRegions();
    renderMembers();
  });
  client.on('message', (message) => {
    const view = rooms.get(message.room);
    if (view === undefined) return;
    addMessages(view, [message]);
    if (message.room === current) renderMessages(true);
    else {
      view.unread += 1;
      renderRooms();
    }
  });
  client.on('presence', (event) => {
    if (event.room === current) renderMembers();
  });
  client.on('caughtUp', (event) => {
    if (event.reason !== 'reconnect') return;
    caughtUpSinceReconnect += event.count;
    reconnecting = false;
    const region = regionName();
    showNotice(
      `reconnected${region !== undefined ? ` to ${region}` : ''}, caught up ${caughtUpSinceReconnect} message${caughtUpSinceReconnect === 1 ? '' : 's'}`,
    );
  });
  client.on('error', (error) => {
    ui.chatError.textContent = describe(error);
  });
};

// ---- wiring ----

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = ui.user.value.trim();
  const room = ui.firstRoom.value.trim();
  if (user.length === 0) return;
  ui.signinError.textContent = '';
  void (async () => {
    try {
      const [token, doc] = await Promise.all([fetchToken(user), fetchRegions()]);
      regionsDoc = doc;
      const endpoints = endpointsFromRegions(
        doc,
        pageWebSocketUrl(window.location),
        preferredRegionOf(window.location.search),
      );
      startClient(user, endpoints, token);
    } catch (error) {
      ui.signinError.textContent = describe(error);
      return;
    }
    ui.signin.hidden = true;
    ui.app.hidden = false;
    ui.whoami.textContent = `signed in as ${user}`;
    renderConnection();
    renderRegions();
    await joinRoom(room);
  })();
});

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim();
  if (room.length === 0) return;
  ui.roomInput.value = '';
  void joinRoom(room);
});

ui.leave.addEventListener('click', () => {
  if (current !== undefined) void leaveRoom(current);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.messageInput.value;
  if (client === undefined || current === undefined || text.trim().length === 0) return;
  ui.messageInput.value = '';
  ui.chatError.textContent = '';
  const room = current;
  client.send(room, text).catch((error: unknown) => {
    ui.chatError.textContent = `not sent to #${room}: ${describe(error)}`;
  });
});

ui.older.addEventListener('click', () => {
  if (current !== undefined) void loadOlder(current);
});

ui.log.addEventListener('scroll', () => {
  if (current !== undefined && ui.log.scrollTop < 40) void loadOlder(current);
});

setInterval(() => {
  if (client === undefined) return;
  void fetchRegions().then((doc) => {
    if (doc === undefined) return;
    regionsDoc = doc;
    renderRegions();
    renderConnection();
  });
}, REGIONS_REFRESH_MS);
