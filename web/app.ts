/**
 * The web chat page, on the client SDK. Sign in with a user name (a local token), join and leave
 * rooms, send, read history by scrolling up, see who is here, which region the page is connected
 * to and the connection's state, and a notice after a failover saying how many missed messages
 * the resume replayed.
 *
 * This entry point finds the page's elements and wires its forms and buttons; the chat session
 * (`chat.ts`), the rendering (`render.ts`), the rooms' state (`room-views.ts`) and the local stack's
 * sign-in and regions (`local-api.ts`) do the rest. Every piece of message data reaches the DOM
 * through `textContent`, never as markup.
 */
import { Chat } from './chat.js';
import { fetchRegions, signIn } from './local-api.js';
import { describe, type PageElements } from './render.js';

const REGIONS_REFRESH_MS = 2_000;

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
};

const ui: PageElements = {
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

const chat = new Chat(ui);

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = ui.user.value.trim();
  const room = ui.firstRoom.value.trim();
  if (user.length === 0) return;
  ui.signinError.textContent = '';
  void (async () => {
    try {
      chat.start(await signIn(user, window.location));
    } catch (error) {
      ui.signinError.textContent = describe(error);
      return;
    }
    ui.signin.hidden = true;
    ui.app.hidden = false;
    ui.whoami.textContent = `signed in as ${user}`;
    chat.showConnection();
    await chat.joinRoom(room);
  })();
});

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim();
  if (room.length === 0) return;
  ui.roomInput.value = '';
  void chat.joinRoom(room);
});

ui.leave.addEventListener('click', () => {
  if (chat.current !== undefined) void chat.leaveRoom(chat.current);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  chat.send(ui.messageInput.value);
});

ui.older.addEventListener('click', () => {
  if (chat.current !== undefined) void chat.loadOlder(chat.current);
});

ui.log.addEventListener('scroll', () => {
  if (chat.current !== undefined && ui.log.scrollTop < 40) void chat.loadOlder(chat.current);
});

setInterval(() => {
  if (!chat.started) return;
  void fetchRegions().then((doc) => {
    if (doc !== undefined) chat.updateRegions(doc);
  });
}, REGIONS_REFRESH_MS);
