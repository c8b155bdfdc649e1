/**
 * The page's chat session: the SDK client once signed in, the rooms the page shows and which one
 * is current, and what each of the client's events changes on the page. Joining, leaving, sending
 * and reading older history go through here.
 *
 * @example
 * ```ts
 * const chat = new Chat(ui);
 * chat.start(await signIn('alice', window.location));
 * await chat.joinRoom('lobby');
 * chat.send('hello');
 * ```
 */
import { ParleyClient, type StateEvent } from '../client/index.js';
import type { RegionsView, SignIn } from './local-api.js';
import {
  connectedRegion,
  describe,
  type PageElements,
  renderConnection,
  renderMembers,
  renderMessages,
  renderRegions,
  renderRooms,
  showNotice,
} from './render.js';
import { addMessages, newView, type RoomView, startReached } from './room-views.js';

const HISTORY_PAGE = 50;

/** The signed-in page: its client and its rooms. */
export class Chat {
  readonly #ui: PageElements;
  #client: ParleyClient | undefined;
  #regions: RegionsView | undefined;
  readonly #rooms = new Map<string, RoomView>();
  #current: string | undefined;
  /** Messages replayed by resumes since the last reconnect began, for the notice. */
  #caughtUpSinceReconnect = 0;
  #reconnecting = false;

  public constructor(ui: PageElements) {
    this.#ui = ui;
  }

  /** True once signed in: the client exists. */
  public get started(): boolean {
    return this.#client !== undefined;
  }

  /** The room shown, if any. */
  public get current(): string | undefined {
    return this.#current;
  }

  /** Starts the client with what signing in gave. */
  public start(session: SignIn): void {
    this.#regions = session.regions;
    const client = new ParleyClient({ endpoints: session.endpoints, token: session.token });
    this.#client = client;
    client.on('state', (event) => this.#onState(event));
    client.on('joined', () => {
      this.showConnection();
      this.#renderMembers();
    });
    client.on('message', (message) => {
      const view = this.#rooms.get(message.room);
      if (view === undefined) return;
      addMessages(view, [message]);
      if (message.room === this.#current) this.#renderMessages(true);
      else {
        view.unread += 1;
        this.#renderRooms();
      }
    });
    client.on('presence', (event) => {
      if (event.room === this.#current) this.#renderMembers();
    });
    client.on('caughtUp', (event) => {
      if (event.reason !== 'reconnect') return;
      this.#caughtUpSinceReconnect += event.count;
      this.#reconnecting = false;
      const region = connectedRegion(this.#client, this.#regions);
      const count = this.#caughtUpSinceReconnect;
      showNotice(
        this.#ui,
        `reconnected${region !== undefined ? ` to ${region}` : ''}, caught up ${count} message${count === 1 ? '' : 's'}`,
      );
    });
    client.on('error', (error) => {
      this.#ui.chatError.textContent = describe(error);
    });
  }

  /** Takes a fresh regions document, and shows it. */
  public updateRegions(regions: RegionsView): void {
    this.#regions = regions;
    this.showConnection();
  }

  /** Shows the connection and the regions. */
  public showConnection(): void {
    renderConnection(this.#ui, this.#client, this.#regions);
    renderRegions(this.#ui, this.#regions, connectedRegion(this.#client, this.#regions));
  }

  /** Joins a room and shows it, with its latest history. */
  public async joinRoom(room: string): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    this.#ui.chatError.textContent = '';
    // The view exists before the join, so live messages that follow `joined` at once have a home.
    const created = !this.#rooms.has(room);
    if (created) this.#rooms.set(room, newView());
    try {
      await client.join(room);
    } catch (error) {
      if (created) this.#rooms.delete(room);
      this.#ui.chatError.textContent = `could not join #${room}: ${describe(error)}`;
      return;
    }
    this.#select(room);
    await this.loadOlder(room);
    if (room === this.#current) this.#ui.log.scrollTop = this.#ui.log.scrollHeight;
  }

  /** Leaves a room; the next one, if any, becomes current. */
  public async leaveRoom(room: string): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    this.#rooms.delete(room);
    if (this.#current === room) this.#current = this.#rooms.keys().next().value;
    this.#renderRooms();
    this.#renderMembers();
    this.#renderMessages(false);
    try {
      await client.leave(room);
    } catch (error) {
      this.#ui.chatError.textContent = `leave: ${describe(error)}`;
    }
  }

  /** Sends what was typed to the current room, and clears the input. */
  public send(text: string): void {
    const client = this.#client;
    const room = this.#current;
    if (client === undefined || room === undefined || text.trim().length === 0) return;
    this.#ui.messageInput.value = '';
    this.#ui.chatError.textContent = '';
    client.send(room, text).catch((error: unknown) => {
      this.#ui.chatError.textContent = `not sent to #${room}: ${describe(error)}`;
    });
  }

  /** Loads the next older history page of a room, keeping the reader's place in the log. */
  public async loadOlder(room: string): Promise<void> {
    const client = this.#client;
    const view = this.#rooms.get(room);
    if (client === undefined || view === undefined || view.loadingHistory || view.historyDone) return;
    const { log } = this.#ui;
    view.loadingHistory = true;
    try {
      const page = await client.history(room, { limit: HISTORY_PAGE, before: view.nextBefore });
      const heightBefore = log.scrollHeight;
      addMessages(view, page.messages);
      view.nextBefore = page.nextBefore;
      view.historyDone = page.nextBefore === undefined || startReached(client.cursor(room), view);
      if (room === this.#current) {
        this.#renderMessages(false);
        log.scrollTop += log.scrollHeight - heightBefore;
      }
    } catch (error) {
      this.#ui.chatError.textContent = `history: ${describe(error)}`;
    } finally {
      view.loadingHistory = false;
    }
  }

  #select(room: string): void {
    this.#current = room;
    const view = this.#rooms.get(room);
    if (view !== undefined) view.unread = 0;
    this.#renderRooms();
    this.#renderMembers();
    this.#renderMessages(false);
    this.#ui.log.scrollTop = this.#ui.log.scrollHeight;
  }

  #onState(event: StateEvent): void {
    if (event.state === 'reconnecting' || event.state === 'failed-over') {
      if (!this.#reconnecting) this.#caughtUpSinceReconnect = 0;
      this.#reconnecting = true;
    }
    if (event.state === 'failed-over') {
      showNotice(
        this.#ui,
        event.reason === 'preferred-recovered'
          ? `moving back to ${event.endpoint}`
          : `${event.from} is unreachable, failing over to ${event.endpoint}`,
      );
    }
    if (event.state === 'closed') showNotice(this.#ui, `disconnected: ${event.reason}`);
    this.showConnection();
  }

  #renderRooms(): void {
    renderRooms(this.#ui, this.#rooms, this.#current, (room) => this.#select(room));
  }

  #renderMembers(): void {
    const client = this.#client;
    const room = this.#current;
    if (client === undefined || room === undefined) renderMembers(this.#ui, undefined);
    else renderMembers(this.#ui, client.members(room), client.memberCount(room));
  }

  #renderMessages(keepBottom: boolean): void {
    const room = this.#current;
    renderMessages(this.#ui, room, room === undefined ? undefined : this.#rooms.get(room), keepBottom);
  }
}
