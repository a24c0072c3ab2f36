// The agent console: log in, the inbox (mine, the queue, my teams, everyone), a conversation with its history,
// live messages and a composer, offers to accept, presence. Everything live comes over one WebSocket (live.ts);
// events are applied to the lists in place (see "Data"), and a reconnect or a server restart resumes them, so
// nothing goes stale. Text is rendered as text (Preact escapes it); nothing from a message or a customer
// becomes HTML.

import { Component, render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { batch, computed, effect, signal, useSignal } from "@preact/signals";
import { ApiError, call, newID, setCSRF, upload } from "./api";
import type { Agent, Conversation, Message, SessionAnswer } from "./api";
import { Live } from "./live";
import type { Frame } from "./live";
import { words } from "./i18n";
import { ReportsPage } from "./reports";
import { COLUMNS, emoji } from "./emoji";
import { NewSiteForm, SiteForm, siteKey } from "./sites";
import type { AdminSite } from "./sites";
import type { Lang } from "./i18n";
import { PAGE, channels, inboxPath, listKey, noFilters, place, viewStatuses, without } from "./inbox";
import type { Filters, List, View } from "./inbox";
import "./main.css";

const lang = signal<Lang>((localStorage.getItem("parley:console:lang") as Lang | null) ?? (/^zh\b/i.test(navigator.language) ? "zh-CN" : "en"));
const t = computed(() => words[lang.value]);
const me = signal<Agent | null>(null);
const booted = signal(false);
const connected = signal(false);
const view = signal<View>("mine");
const filters = signal<Filters>(noFilters);
const lists = signal<Map<string, List>>(new Map());
/** items is a list's entries (the unfiltered one when no filters are given), empty until it is loaded. */
function items(v: View, f: Filters = noFilters): Conversation[] {
  return lists.value.get(listKey(v, f))?.items ?? [];
}
const shown = computed(() => lists.value.get(listKey(view.value, filters.value)));
const selected = signal<string | null>(null);
const messages = signal<Message[]>([]);
const sending = signal(0);
const typingName = signal("");
const loginError = signal("");
const transferring = signal(false);
const customerRead = signal(0);
interface Panel {
  customer: { name: string; email?: string; phone?: string; context?: Record<string, string> };
  channel: string;
  previous: { id: string; status: string; created_at: string; closed_at?: string }[];
}
const panel = signal<Panel | null>(null);
interface Canned {
  id: string;
  shortcut: string;
  body: string;
  shared: boolean;
}
const canned = signal<Canned[]>([]);
interface SearchResult {
  message: Message;
  status: string;
  customer_name: string;
}
const searchResults = signal<SearchResult[] | null>(null);
type Page = "inbox" | "canned" | "reports" | "admin";
const page = signal<Page>("inbox");
const sortBy = signal<"activity" | "waiting">("activity");
const uploadError = signal("");
const hitSeq = signal(0);

async function runSearch(q: string): Promise<void> {
  q = q.trim();
  if (!q) {
    searchResults.value = null;
    return;
  }
  try {
    searchResults.value = (await call<{ results: SearchResult[] }>("GET", `/api/v1/search?q=${encodeURIComponent(q)}`)).results;
  } catch {
    searchResults.value = [];
  }
}
const suggestions = signal<Canned[]>([]);

async function loadCanned(): Promise<void> {
  try {
    canned.value = (await call<{ canned_replies: Canned[] }>("GET", "/api/v1/canned-replies")).canned_replies;
  } catch {
    /* the composer works without */
  }
}

/** suggest offers the canned replies matching "/word" at the start of the composer: by shortcut, then by text. */
function suggest(text: string): void {
  const m = /^\/(\S*)$/.exec(text.trimStart());
  if (!m) {
    suggestions.value = [];
    return;
  }
  const q = (m[1] ?? "").toLowerCase();
  const byShortcut = canned.value.filter((c) => c.shortcut.toLowerCase().startsWith(q));
  const byText = q ? canned.value.filter((c) => !byShortcut.includes(c) && c.body.toLowerCase().includes(q)) : [];
  suggestions.value = [...byShortcut, ...byText].slice(0, 8);
}
const notify = signal(localStorage.getItem("parley:console:notify") !== "off");
effect(() => localStorage.setItem("parley:console:notify", notify.value ? "on" : "off"));
const directory = signal<{ id: string; name: string; presence: string; has_room: boolean }[]>([]);
const teams = signal<{ id: string; name: string }[]>([]);

effect(() => {
  document.documentElement.lang = lang.value;
  document.title = t.value.title;
  localStorage.setItem("parley:console:lang", lang.value);
});

// ---- Data ----

// The lists are read once, with the heads of the event streams that carry their changes; from then on each
// event is applied in place to the one conversation it names (read alone: GET /api/v1/inbox/{id}), so the
// pages loaded stay and nothing is read again in full. Activity frames (a message stored) move a known
// conversation without any read. Only a resume that cannot replay what was missed (a reset, or a gap
// longer than one replay) reads the lists again; after a plain reconnect the first pages are read and
// merged in, for the activity frames that are not replayed.

/** known holds the latest state seen of every conversation of the lists (and of those that left them). */
const known = new Map<string, Conversation>();
// A page read before an event was applied must not undo it when it arrives after: every change applied
// gets a tick, and a page keeps the state of the conversations changed since its read began.
let tick = 0;
const touched = new Map<string, number>();

/** settle applies to l what changed since the tick a read of it began. */
function settle(l: List, since: number, agent: Agent): List {
  for (const [id, at] of touched) {
    if (at <= since) continue;
    const c = known.get(id);
    l = c ? place(l, c, agent) : without(l, id);
  }
  return l;
}

/**
 * remember records the conversations of a page read since the tick given. One changed meanwhile keeps the
 * later state applied already (or stays gone when it was dropped): the page answers with that state.
 */
function remember(cs: Conversation[], since: number): Conversation[] {
  const out: Conversation[] = [];
  for (const c of cs) {
    if ((touched.get(c.id) ?? 0) <= since) {
      known.set(c.id, c);
      out.push(c);
      continue;
    }
    const later = known.get(c.id);
    if (later) out.push(later);
  }
  return out;
}
/** current is the state of the conversation shown, whether or not a list holds it. */
const current = signal<Conversation | null>(null);

/** wantedLists are the lists kept: mine and the queue (their counts are on the tabs) and the one shown. */
function wantedLists(): [View, Filters][] {
  return [["mine", noFilters], ["queue", noFilters], [view.value, filters.value]];
}

/** upsert applies the current state of conversations to every list kept. */
function upsert(cs: Conversation[]): void {
  const agent = me.value;
  if (!agent || cs.length === 0) return;
  const next = new Map(lists.value);
  let changed = false;
  for (const c of cs) {
    known.set(c.id, c);
    touched.set(c.id, ++tick);
    for (const [k, l] of next) {
      const placed = place(l, c, agent);
      if (placed !== l) {
        next.set(k, placed);
        changed = true;
      }
    }
  }
  batch(() => {
    if (changed) lists.value = next;
    const sel = cs.find((c) => c.id === selected.value);
    if (sel) current.value = sel;
  });
}

/** drop removes a conversation the agent may no longer see from every list. */
function drop(id: string): void {
  known.delete(id);
  touched.set(id, ++tick);
  const next = new Map(lists.value);
  for (const [k, l] of next) next.set(k, without(l, id));
  lists.value = next;
}

interface InboxAnswer {
  conversations: Conversation[];
  heads: Record<string, number>;
  epoch: string;
}

/**
 * loadList reads the first page of a list. A list not kept yet starts with it; a list kept already (read
 * twice at once, or after a reconnect) gets the page merged in, keeping every page loaded; reload (after a
 * reset or a gap) starts the list afresh whatever it held. A list no longer wanted when the page arrives is
 * left out.
 */
async function loadList(v: View, f: Filters, reload = false): Promise<void> {
  const key = listKey(v, f);
  const since = tick;
  let r: InboxAnswer;
  try {
    r = await call<InboxAnswer>("GET", inboxPath(v, f));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) logout();
    return;
  }
  const agent = me.value;
  if (!agent) return;
  live.followStreams(r.heads, r.epoch, reload);
  if (!wantedLists().some(([wv, wf]) => listKey(wv, wf) === key)) return;
  if (lists.value.has(key) && !reload) {
    upsert(remember(r.conversations, since));
    return;
  }
  const next = new Map(lists.value);
  next.set(key, settle({ view: v, filters: f, items: remember(r.conversations, since), more: r.conversations.length >= PAGE }, since, agent));
  lists.value = next;
}

/** showLists keeps the lists wanted (dropping the others) and reads those not loaded yet. */
async function showLists(): Promise<void> {
  const wanted = wantedLists();
  const keys = new Set(wanted.map(([v, f]) => listKey(v, f)));
  const next = new Map([...lists.value].filter(([k]) => keys.has(k)));
  if (next.size !== lists.value.size) lists.value = next;
  const missing = new Map(wanted.filter(([v, f]) => !lists.value.has(listKey(v, f))).map(([v, f]) => [listKey(v, f), [v, f] as const]));
  await Promise.all([...missing.values()].map(([v, f]) => loadList(v, f)));
}

/** reloadLists reads every list kept afresh: after a reset or a gap the events cannot tell what changed. */
async function reloadLists(): Promise<void> {
  known.clear();
  touched.clear();
  const seen = new Set<string>();
  await Promise.all(
    wantedLists()
      .filter(([v, f]) => !seen.has(listKey(v, f)) && !!seen.add(listKey(v, f)))
      .map(([v, f]) => loadList(v, f, true)),
  );
}

/** catchUpLists merges the first page of each list kept: what activity a disconnection may have hidden. */
async function catchUpLists(): Promise<void> {
  const seen = new Set<string>();
  await Promise.all(
    wantedLists()
      .filter(([v, f]) => !seen.has(listKey(v, f)) && !!seen.add(listKey(v, f)))
      .map(([v, f]) => loadList(v, f)),
  );
}

let reloadTimer: ReturnType<typeof setTimeout> | undefined;

/** reloadSoon reads the lists again once the resumes of one reconnect are all in. */
function reloadSoon(): void {
  if (reloadTimer) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = undefined;
    void reloadLists();
  }, 100);
}

// One conversation at a time: the events of a burst name each conversation once, and a read in flight is
// followed by one more when another event names it meanwhile (its answer could predate that event).
const toRead = new Set<string>();
const reading = new Set<string>();
const readAgain = new Set<string>();
let readTimer: ReturnType<typeof setTimeout> | undefined;

/** refreshOne reads one conversation soon and applies it to the lists. */
function refreshOne(id: string): void {
  if (reading.has(id)) {
    readAgain.add(id);
    return;
  }
  toRead.add(id);
  if (!readTimer) readTimer = setTimeout(readConversations, 30);
}

function readConversations(): void {
  readTimer = undefined;
  const ids = [...toRead];
  toRead.clear();
  for (const id of ids) {
    reading.add(id);
    call<Conversation>("GET", `/api/v1/inbox/${id}`)
      .then((c) => upsert([c]))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) drop(id); // gone from the agent's teams
        else if (e instanceof ApiError && e.status === 401) logout();
      })
      .finally(() => {
        reading.delete(id);
        if (readAgain.delete(id)) refreshOne(id);
      });
  }
}

/** activity moves a conversation with a new message to its place, without reading it (when it is known). */
function activity(id: string, seq: number, ts: string | undefined): void {
  const c = known.get(id);
  if (!c) return refreshOne(id);
  if (seq <= c.last_seq) return;
  const read = c.agent_read_seq ?? 0;
  upsert([{ ...c, last_seq: seq, last_message_at: ts ?? c.last_message_at, unread: Math.max(0, seq - read) }]);
}

/** readUpTo records that the agent read a conversation up to seq: its unread count drops to 0. */
function readUpTo(id: string, seq: number): void {
  const c = known.get(id);
  if (c && (c.agent_read_seq ?? 0) < seq) upsert([{ ...c, agent_read_seq: seq, unread: Math.max(0, c.last_seq - seq) }]);
}

/** loadMore appends the next page of the list shown (lists by activity). */
async function loadMore(): Promise<void> {
  const l = shown.value;
  const last = l?.items[l.items.length - 1];
  if (!l || !last) return;
  const key = listKey(l.view, l.filters);
  const since = tick;
  const r = await call<InboxAnswer>("GET", inboxPath(l.view, l.filters, last));
  const cur = lists.value.get(key);
  const agent = me.value;
  if (!cur || !agent) return;
  const seen = new Set(cur.items.map((c) => c.id));
  const page = remember(r.conversations, since).filter((c) => !seen.has(c.id));
  const next = new Map(lists.value);
  next.set(key, settle({ ...cur, items: [...cur.items, ...page], more: r.conversations.length >= PAGE }, since, agent));
  lists.value = next;
}

/** setView shows another view, keeping the filters it accepts. */
function setView(v: View): void {
  batch(() => {
    view.value = v;
    if (filters.value.status && !viewStatuses[v].includes(filters.value.status)) filters.value = { ...filters.value, status: "" };
  });
  void showLists();
}

function setFilter(name: keyof Filters, value: string): void {
  filters.value = { ...filters.value, [name]: value };
  void showLists();
}

async function openConversation(id: string, atSeq = 0): Promise<void> {
  batch(() => {
    selected.value = id;
    current.value = known.get(id) ?? null;
    hitSeq.value = atSeq;
    transferring.value = false;
    messages.value = [];
    typingName.value = "";
  });
  if (!known.has(id)) refreshOne(id); // a search hit or a previous conversation: not in the lists
  panel.value = null;
  void loadCanned(); // shared replies change while the console is open
  const [page, conv, who] = await Promise.all([
    call<{ messages: Message[]; head_seq: number }>(
      "GET",
      atSeq > 0 ? `/api/v1/conversations/${id}/messages?before=${atSeq + 25}&limit=50` : `/api/v1/conversations/${id}/messages?limit=50`,
    ),
    call<{ customer_read_seq: number }>("GET", `/api/v1/conversations/${id}`),
    call<Panel>("GET", `/api/v1/conversations/${id}/customer`).catch(() => null),
  ]);
  if (selected.value !== id) return;
  batch(() => {
    messages.value = page.messages;
    customerRead.value = conv.customer_read_seq;
    panel.value = who;
  });
  live.follow(id, false, page.head_seq);
  markRead();
}

async function olderMessages(): Promise<void> {
  const id = selected.value;
  const first = messages.value[0];
  if (!id || !first || first.seq <= 1) return;
  const page = await call<{ messages: Message[] }>("GET", `/api/v1/conversations/${id}/messages?before=${first.seq}&limit=50`);
  if (selected.value === id) messages.value = [...page.messages, ...messages.value];
}

/** catchUp reads what follows the last message shown (after a gap or a reconnect). */
async function catchUp(id: string): Promise<void> {
  const last = messages.value[messages.value.length - 1]?.seq ?? 0;
  const page = await call<{ messages: Message[] }>("GET", `/api/v1/conversations/${id}/messages?after=${last}&limit=200`);
  if (selected.value === id) appendMessages(page.messages);
}

function appendMessages(ms: Message[]): void {
  const cur = messages.value;
  const last = cur[cur.length - 1]?.seq ?? 0;
  const fresh = ms.filter((m) => m.seq > last).sort((a, b) => a.seq - b.seq);
  if (fresh.length > 0) messages.value = [...cur, ...fresh];
}

function markRead(): void {
  const id = selected.value;
  const last = messages.value[messages.value.length - 1];
  if (id && last && document.visibilityState === "visible") {
    live.read(id, last.seq);
    readUpTo(id, last.seq);
  }
}

function onFrame(f: Frame): void {
  switch (f.type) {
    case "hello":
      // A reconnect: the streams resume by themselves; activity is not replayed, so the first pages are merged.
      if (lists.value.size > 0) void catchUpLists();
      if (selected.value) void catchUp(selected.value);
      break;
    case "resumed":
      if (f.stream && (f.reset || f.recovered === false)) reloadSoon();
      else if (f.conversation_id && f.reset && f.conversation_id === selected.value) void openConversation(f.conversation_id);
      break;
    case "event":
      if (f.event?.conversation_id) refreshOne(f.event.conversation_id);
      if (f.event?.kind === "conversation.offered" && f.event.stream === "agent:" + me.value?.id) alertAgent(t.value.newOffer);
      break;
    case "activity":
      if (f.conversation_id && f.seq) activity(f.conversation_id, f.seq, f.ts);
      break;
    case "message": {
      const m = f.message;
      if (!m || m.conversation_id !== selected.value) break;
      const last = messages.value[messages.value.length - 1]?.seq ?? 0;
      if (m.seq === last + 1) {
        appendMessages([m]);
        if (m.sender_type === "customer") {
          typingName.value = "";
          alertAgent(m.body ?? "");
        }
        markRead();
      } else if (m.seq > last + 1) {
        void catchUp(m.conversation_id);
      }
      break;
    }
    case "heartbeat": {
      const id = selected.value;
      const last = messages.value[messages.value.length - 1]?.seq ?? 0;
      if (id && f.heads && (f.heads[id] ?? 0) > last) void catchUp(id);
      break;
    }
    case "read":
      if (f.conversation_id === selected.value && f.side === "customer" && (f.seq ?? 0) > customerRead.value) customerRead.value = f.seq ?? 0;
      break;
    case "typing":
      if (f.conversation_id === selected.value && f.side === "customer") {
        typingName.value = f.name ?? "";
        setTimeout(() => (typingName.value = ""), 6000);
      }
      break;
  }
}

const live = new Live(onFrame, (c) => (connected.value = c));

/** startLive connects and reads the lists; their answers name the streams to follow and from where. */
async function startLive(): Promise<void> {
  void loadCanned();
  void call<{ teams: { id: string; name: string }[] }>("GET", "/api/v1/teams").then((r) => (teams.value = r.teams)).catch(() => {});
  live.start();
  await showLists();
}

async function boot(): Promise<void> {
  try {
    const s = await call<SessionAnswer>("GET", "/api/v1/auth/session");
    setCSRF(s.csrf_token);
    me.value = s.agent;
    await startLive();
  } catch {
    me.value = null;
  } finally {
    booted.value = true;
  }
}

async function login(email: string, password: string): Promise<void> {
  loginError.value = "";
  try {
    const s = await call<SessionAnswer>("POST", "/api/v1/auth/login", { email, password });
    setCSRF(s.csrf_token);
    me.value = s.agent;
    await startLive();
  } catch (e) {
    loginError.value = e instanceof ApiError && e.status === 429 ? e.message : t.value.loginFailed;
  }
}

function logout(): void {
  void call("POST", "/api/v1/auth/logout").catch(() => {});
  live.stop();
  known.clear();
  touched.clear();
  batch(() => {
    me.value = null;
    selected.value = null;
    messages.value = [];
    lists.value = new Map();
  });
}

async function act(action: "accept" | "decline" | "assign" | "close" | "reopen"): Promise<void> {
  const id = selected.value;
  if (!id) return;
  try {
    await call("POST", `/api/v1/conversations/${id}/${action}`);
  } catch {
    /* the list shows the outcome either way */
  }
  refreshOne(id); // its event is on the way too; this read serves a slow stream
  if (action === "decline") selected.value = null;
}

async function openTransfer(): Promise<void> {
  const [d, tm] = await Promise.all([
    call<{ agents: { id: string; name: string; presence: string; has_room: boolean }[] }>("GET", "/api/v1/agents/directory"),
    call<{ teams: { id: string; name: string }[] }>("GET", "/api/v1/teams"),
  ]);
  batch(() => {
    directory.value = d.agents.filter((a) => a.id !== me.value?.id);
    teams.value = tm.teams;
    transferring.value = true;
  });
}

const transferError = signal("");

async function transfer(target: string, note: string): Promise<void> {
  const id = selected.value;
  if (!id) return;
  const [kind, targetID] = target.split(":");
  transferError.value = "";
  try {
    await call("POST", `/api/v1/conversations/${id}/transfer`, {
      agent_id: kind === "agent" ? targetID : "",
      team_id: kind === "team" ? targetID : "",
      note,
      client_msg_id: newID(),
    });
    transferring.value = false;
    refreshOne(id);
  } catch (e) {
    transferError.value = e instanceof ApiError ? e.message : String(e);
  }
}

async function setPresence(p: string): Promise<void> {
  const a = await call<Agent>("PUT", "/api/v1/agents/me/presence", { presence: p });
  me.value = a;
}

/**
 * alertAgent tells an agent who is looking elsewhere: a desktop notification and a short tone, only while the
 * tab is in the background and only if they have not turned it off.
 */
function alertAgent(text: string): void {
  if (!notify.value || document.visibilityState === "visible") return;
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch {
    /* no audio: the notification is enough */
  }
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(t.value.title, { body: text.slice(0, 120), tag: "parley" });
  }
}

function toggleNotify(): void {
  notify.value = !notify.value;
  if (notify.value && "Notification" in window && Notification.permission === "default") void Notification.requestPermission();
}

/** Keyboard shortcuts: Alt+↓ / Alt+↑ next and previous conversation, Alt+A accept, Alt+W close, "/" the composer. */
document.addEventListener("keydown", (e) => {
  if (!me.value) return;
  const list = sortedItems.value;
  const at = list.findIndex((c) => c.id === selected.value);
  const inField = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.altKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
    const next = list[e.key === "ArrowDown" ? Math.min(at + 1, list.length - 1) : Math.max(at - 1, 0)];
    if (next) {
      e.preventDefault();
      void openConversation(next.id);
    }
  } else if (e.altKey && e.code === "KeyA") {
    e.preventDefault();
    void act("accept");
  } else if (e.altKey && e.code === "KeyW") {
    e.preventDefault();
    void act("close");
  } else if (e.key === "/" && !inField) {
    e.preventDefault();
  }
});
// "/" moves to the composer when released, so the key itself is never typed into it.
document.addEventListener("keyup", (e) => {
  const inField = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (me.value && e.key === "/" && !inField) document.querySelector<HTMLTextAreaElement>("form.composer textarea")?.focus();
});

// ---- Views ----

function Login() {
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    void login(String(data.get("email") ?? ""), String(data.get("password") ?? ""));
  };
  return (
    <main class="login">
      <h1>{t.value.title}</h1>
      <form onSubmit={submit}>
        <label>
          {t.value.email}
          <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          {t.value.password}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {loginError.value && <p class="error" role="alert">{loginError.value}</p>}
        <button type="submit">{t.value.login}</button>
        <button type="button" class="link" onClick={() => (lang.value = lang.value === "en" ? "zh-CN" : "en")}>
          {t.value.other}
        </button>
      </form>
    </main>
  );
}

function Header() {
  const agent = me.value!;
  return (
    <header class="top">
      <strong>{t.value.title}</strong>
      {!connected.value && <span class="offline-note" role="status">{t.value.connecting}</span>}
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void runSearch(String(new FormData(e.currentTarget as HTMLFormElement).get("q") ?? ""));
        }}
      >
        <input name="q" type="search" placeholder={t.value.search} aria-label={t.value.search} maxLength={200} />
      </form>
      <span class="spacer" />
      <label class="presence">
        <span class={"dot " + agent.availability} aria-hidden="true" />
        <select aria-label={t.value.presenceLabel} value={agent.availability} onChange={(e) => void setPresence((e.currentTarget as HTMLSelectElement).value)}>
          <option value="online">{t.value.online}</option>
          <option value="away">{t.value.away}</option>
          <option value="offline">{t.value.offline}</option>
        </select>
      </label>
      <label class="notify" title={t.value.notifyHint}>
        <input type="checkbox" checked={notify.value} onChange={toggleNotify} /> {t.value.notifications}
      </label>
      <nav class="pages" aria-label={t.value.pages}>
        {(
          [
            ["inbox", t.value.backToInbox],
            ["canned", t.value.cannedReplies],
            ...(agent.role !== "agent" ? [["reports", t.value.reports]] : []),
            ...(agent.role === "admin" ? [["admin", t.value.admin]] : []),
          ] as [Page, string][]
        ).map(([p, label]) => (
          <button type="button" class={page.value === p ? "link on" : "link"} aria-current={page.value === p ? "page" : undefined} onClick={() => (page.value = p)}>
            {label}
          </button>
        ))}
      </nav>
      <span class="me">{agent.name}</span>
      <button type="button" class="link" onClick={() => (lang.value = lang.value === "en" ? "zh-CN" : "en")}>
        {t.value.other}
      </button>
      <button type="button" class="link" onClick={logout}>
        {t.value.logout}
      </button>
    </header>
  );
}

/** sortedItems is the list shown, in the order chosen: as the server sorts it, or longest waiting first. */
const sortedItems = computed(() => {
  const list = shown.value?.items ?? [];
  if (sortBy.value === "waiting") {
    const at = (c: Conversation) => Date.parse(c.queued_at ?? c.created_at ?? c.last_message_at);
    return list.slice().sort((a, b) => at(a) - at(b));
  }
  // The queue comes in service order; the other lists by activity already.
  if (view.value !== "queue") return list;
  return list.slice().sort((a, b) => Date.parse(b.last_message_at) - Date.parse(a.last_message_at) || (a.id < b.id ? 1 : -1));
});

/** findConversation looks a conversation up in the lists kept. */
function findConversation(id: string): Conversation | undefined {
  for (const l of lists.value.values()) {
    const c = l.items.find((x) => x.id === id);
    if (c) return c;
  }
  return undefined;
}

function Inbox() {
  const agent = me.value!;
  const tabs: View[] = agent.role === "agent" ? ["mine", "queue", "team"] : ["mine", "queue", "team", "all"];
  const list = sortedItems.value;
  const f = filters.value;
  const myTeams = agent.role === "agent" ? teams.value.filter((tm) => agent.teams.includes(tm.id)) : teams.value;
  const found = searchResults.value;
  if (found !== null) {
    return (
      <nav class="inbox" aria-label={t.value.searchResults}>
        <div class="tabs">
          <strong class="results-title">{t.value.searchResults}</strong>
          <button type="button" class="link" onClick={() => (searchResults.value = null)}>{t.value.cancel}</button>
        </div>
        {found.length === 0 ? (
          <p class="empty">{t.value.noResults}</p>
        ) : (
          <ul class="list">
            {found.map((r) => (
              <li>
                <button type="button" class="item result" data-hit={`${r.message.conversation_id}:${r.message.seq}`}
                  onClick={() => void openConversation(r.message.conversation_id, r.message.seq)}>
                  <span class="name">{r.customer_name || "—"}</span>
                  <span class="snippet">{r.message.body}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </nav>
    );
  }
  return (
    <nav class="inbox" aria-label={t.value.conversations}>
      <div class="tabs" role="tablist">
        {tabs.map((v) => (
          <button
            type="button"
            role="tab"
            aria-selected={view.value === v}
            class={view.value === v ? "tab on" : "tab"}
            onClick={() => setView(v)}
          >
            {t.value[v]}
            {(v === "mine" || v === "queue") && (
              <span class="count">
                {items(v).length}
                {lists.value.get(listKey(v, noFilters))?.more ? "+" : ""}
              </span>
            )}
          </button>
        ))}
      </div>
      <div class="filters">
        <select name="status" aria-label={t.value.statusLabel} value={f.status} onChange={(e) => setFilter("status", (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{t.value.openStatuses}</option>
          {viewStatuses[view.value].map((st) => (
            <option value={st}>{t.value.status[st] ?? st}</option>
          ))}
        </select>
        {myTeams.length > 1 && (
          <select name="team" aria-label={t.value.teamLabel} value={f.team} onChange={(e) => setFilter("team", (e.currentTarget as HTMLSelectElement).value)}>
            <option value="">{t.value.allTeams}</option>
            {myTeams.map((tm) => (
              <option value={tm.id}>{tm.name}</option>
            ))}
          </select>
        )}
        <select name="channel" aria-label={t.value.channel} value={f.channel} onChange={(e) => setFilter("channel", (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{t.value.allChannels}</option>
          {channels.map((ch) => (
            <option value={ch}>{t.value.channels[ch] ?? ch}</option>
          ))}
        </select>
        <select aria-label={t.value.sort} value={sortBy.value} onChange={(e) => (sortBy.value = (e.currentTarget as HTMLSelectElement).value as "activity" | "waiting")}>
          <option value="activity">{t.value.byActivity}</option>
          <option value="waiting">{t.value.byWaiting}</option>
        </select>
      </div>
      {list.length === 0 ? (
        <p class="empty">{t.value.empty}</p>
      ) : (
        <ul class="list">
          {list.map((c) => (
            <Row key={c.id} c={c} on={c.id === selected.value} me={agent.id} lang={lang.value} />
          ))}
          {(view.value === "team" || view.value === "all") && shown.value?.more && (
            <li>
              <button type="button" class="link more" onClick={() => void loadMore()}>{t.value.more}</button>
            </li>
          )}
        </ul>
      )}
    </nav>
  );
}

interface RowProps {
  c: Conversation;
  on: boolean;
  me: string;
  lang: Lang;
}

/**
 * Row is one entry of the inbox. It renders again only when its conversation, its selection or the language
 * changed: an event that moves one conversation in a list of thousands touches one row.
 */
class Row extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return next.c !== p.c || next.on !== p.on || next.lang !== p.lang || next.me !== p.me;
  }

  override render() {
    const { c, on, me: myID } = this.props;
    const w = words[this.props.lang];
    return (
      <li>
        <button type="button" class={on ? "item on" : "item"} data-conv={c.id} onClick={() => void openConversation(c.id)}>
          <span class="name">{c.customer.name || "—"}</span>
          <span class={"status " + c.status}>{c.offered_to === myID && c.status === "offered" ? w.offeredToYou : (w.status[c.status] ?? c.status)}</span>
          {c.unread > 0 && !on && <span class="unread">{c.unread}</span>}
        </button>
      </li>
    );
  }
}

/** lastClosed reports that the conversation shown has closed (its last system event says so). */
function lastClosed(): boolean {
  const sys = messages.value.filter((m) => m.type === "system");
  return sys[sys.length - 1]?.meta?.["event"] === "closed";
}

/** Body shows a message: text as text, an image inline, a file as a download link. */
function Body(props: { m: Message }) {
  const a = props.m.meta?.attachment;
  if (a && props.m.type === "image") return <img class="attachment" src={`/api/v1/attachments/${encodeURIComponent(a.id)}`} alt={a.name} />;
  if (a) {
    return (
      <a href={`/api/v1/attachments/${encodeURIComponent(a.id)}`} download={a.name} rel="noopener">
        {a.name} ({Math.ceil(a.size / 1024)} KB)
      </a>
    );
  }
  return <>{props.m.body}</>;
}

/** systemText renders a system message from its machine-readable event, in the viewer's language. */
function systemText(m: Message): string {
  const ev = m.meta?.["event"];
  return (ev && t.value.system(ev, m.meta ?? {})) || m.body || "";
}

function who(m: Message): string {
  if (m.sender_type === "system") return "";
  return m.sender_name || (m.sender_type === "customer" ? "—" : "");
}

/** drafts holds what was typed and not sent, per conversation. */
const drafts = new Map<string, string>();

function ConversationPane() {
  const id = selected.value;
  const logRef = useRef<HTMLOListElement>(null);
  const boxRef = useRef<HTMLTextAreaElement>(null);
  const noteRef = useRef<HTMLInputElement>(null);
  const count = messages.value.length;
  useEffect(() => {
    const el = logRef.current;
    if (!el) return;
    const hit = hitSeq.value ? el.querySelector(`[data-seq="${hitSeq.value}"]`) : null;
    if (hit) hit.scrollIntoView({ block: "center" });
    else el.scrollTop = el.scrollHeight;
  }, [count, id]);
  // Each conversation keeps its own draft: text typed for one customer never goes to the next one opened.
  useEffect(() => {
    const box = boxRef.current;
    if (box && id) box.value = drafts.get(id) ?? "";
    suggestions.value = [];
  }, [id]);
  if (!id) return <section class="pane empty">{t.value.pick}</section>;
  const agent = me.value!;
  const conv = current.value?.id === id ? current.value : findConversation(id);
  const offeredToMe = conv?.status === "offered" && conv.offered_to === agent.id;
  const waiting = conv?.status === "queued" || conv?.status === "pending";
  const insert = (c: Canned) => {
    const box = boxRef.current;
    if (!box) return;
    box.value = c.body;
    drafts.set(id, c.body);
    suggestions.value = [];
    box.focus();
  };
  const submit = () => {
    const box = boxRef.current;
    if (!box) return;
    const body = box.value.trim();
    if (!body) return;
    box.value = "";
    drafts.delete(id);
    // Some input paths still deliver the Enter's line break after the keydown was handled: drop it.
    requestAnimationFrame(() => {
      if (box.value.trim() === "") box.value = "";
    });
    const note = noteRef.current;
    const kind = note?.checked ? "note" : "text";
    if (note) note.checked = false; // a note is one message: the next one goes to the customer again
    sending.value++;
    void live.send(id, body, kind).finally(() => sending.value--);
  };
  return (
    <section class="pane">
      <header class="conv-head">
        <h2>{conv?.customer.name || "—"}</h2>
        {conv && <span class={"status " + conv.status}>{t.value.status[conv.status] ?? conv.status}</span>}
        <span class="spacer" />
        {offeredToMe && (
          <>
            <button type="button" class="primary" onClick={() => void act("accept")}>{t.value.accept}</button>
            <button type="button" onClick={() => void act("decline")}>{t.value.decline}</button>
          </>
        )}
        {waiting && <button type="button" class="primary" onClick={() => void act("assign")}>{t.value.takeIt}</button>}
        {conv && conv.status !== "closed" && (
          <button type="button" class="transfer" onClick={() => void openTransfer()}>{t.value.transfer}</button>
        )}
        {(conv?.status === "closed" || (!conv && lastClosed())) && (
          <button type="button" class="reopen" onClick={() => void act("reopen")}>{t.value.reopen}</button>
        )}
        {conv && conv.status !== "closed" && <button type="button" onClick={() => void act("close")}>{t.value.close}</button>}
      </header>
      {transferring.value && <TransferForm />}
      <ol class="log" ref={logRef} aria-live="polite">
        {(messages.value[0]?.seq ?? 1) > 1 && (
          <li class="older">
            <button type="button" class="link" onClick={() => void olderMessages()}>{t.value.older}</button>
          </li>
        )}
        {messages.value.map((m) =>
          m.hidden ? null : (
            <li
              class={"msg " + (m.type === "system" ? "system" : m.sender_type === "customer" ? "them" : m.type === "note" ? "note" : "me") + (m.seq === hitSeq.value ? " hit" : "")}
              data-seq={m.seq}
            >
              {m.type !== "system" && <span class="who">{m.type === "note" ? t.value.internalNote + " · " : ""}{who(m)}</span>}
              <span class="body">{m.type === "system" ? systemText(m) : <Body m={m} />}</span>
              {m.sender_type === "agent" && m.type !== "note" && m.seq <= customerRead.value && <span class="state">{t.value.read}</span>}
            </li>
          ),
        )}
      </ol>
      <p class="typing" aria-live="polite">{typingName.value ? `${typingName.value} …` : ""}</p>
      {suggestions.value.length > 0 && (
        <ul class="canned" role="listbox" aria-label={t.value.cannedReplies}>
          {suggestions.value.map((c, i) => (
            <li role="option" aria-selected={i === 0}>
              <button type="button" onClick={() => insert(c)}>
                <strong>/{c.shortcut}</strong> <span>{c.body}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <textarea
          ref={boxRef}
          rows={3}
          placeholder={t.value.replyPlaceholder}
          aria-label={t.value.replyPlaceholder}
          onInput={(e) => {
            live.typing(id);
            const text = (e.currentTarget as HTMLTextAreaElement).value;
            drafts.set(id, text);
            suggest(text);
          }}
          onKeyDown={(e) => {
            const first = suggestions.value[0];
            if (first && (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey && !e.isComposing))) {
              e.preventDefault();
              insert(first);
            } else if (e.key === "Escape") {
              suggestions.value = [];
            } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
        />
        <EmojiPicker
          onPick={(ch) => {
            const box = boxRef.current;
            if (!box) return;
            const from = box.selectionStart ?? box.value.length;
            const to = box.selectionEnd ?? from;
            box.value = box.value.slice(0, from) + ch + box.value.slice(to);
            drafts.set(id, box.value);
            box.focus();
            box.selectionStart = box.selectionEnd = from + ch.length;
          }}
        />
        <label class="note-toggle">
          <input ref={noteRef} type="checkbox" /> {t.value.note}
        </label>
        <label class="attach">
          {t.value.attach}
          <input
            type="file"
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement;
              const file = input.files?.[0];
              input.value = "";
              if (!file) return;
              uploadError.value = "";
              upload(id, file).catch((err: unknown) => (uploadError.value = err instanceof Error ? err.message : String(err)));
            }}
          />
        </label>
        {uploadError.value && <span class="error" role="alert">{uploadError.value}</span>}
        <button type="submit" class="primary">{sending.value > 0 ? t.value.sending : t.value.send}</button>
      </form>
    </section>
  );
}

/**
 * EmojiPicker is a button that opens a grid of common emoji. From the keyboard: Enter or Space opens it on the
 * first emoji, the arrows move (up and down by a row), Home and End jump, Enter or Space inserts, Escape
 * closes; focus returns to the composer after a choice and to the button after Escape.
 */
function EmojiPicker(props: { onPick: (ch: string) => void }) {
  const open = useSignal(false);
  const at = useSignal(0);
  const gridRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open.value) gridRef.current?.querySelector<HTMLButtonElement>(`[data-i="${at.value}"]`)?.focus();
  }, [open.value, at.value]);
  const close = (focusButton: boolean) => {
    open.value = false;
    if (focusButton) buttonRef.current?.focus();
  };
  const pick = (i: number) => {
    const e = emoji[i];
    if (!e) return;
    close(false);
    props.onPick(e.ch);
  };
  const onKey = (e: KeyboardEvent) => {
    const last = emoji.length - 1;
    const move: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (e.key in move) {
      at.value = Math.min(last, Math.max(0, at.value + move[e.key]!));
    } else if (e.key === "Home") {
      at.value = 0;
    } else if (e.key === "End") {
      at.value = last;
    } else if (e.key === "Escape") {
      close(true);
    } else if (e.key === "Tab") {
      open.value = false;
      return;
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  };
  const name = (i: number) => (lang.value === "zh-CN" ? emoji[i]!.zh : emoji[i]!.en);
  return (
    <span class="emoji">
      <button
        ref={buttonRef}
        type="button"
        class="emoji-button"
        aria-label={t.value.emoji}
        title={t.value.emoji}
        aria-haspopup="true"
        aria-expanded={open.value}
        onClick={() => {
          at.value = 0;
          open.value = !open.value;
        }}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" stroke-width="1.8" />
          <circle cx="8.8" cy="10" r="1.3" fill="currentColor" />
          <circle cx="15.2" cy="10" r="1.3" fill="currentColor" />
          <path d="M7.8 14.2c1 1.6 2.5 2.4 4.2 2.4s3.2-.8 4.2-2.4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
        </svg>
      </button>
      {open.value && (
        <div
          ref={gridRef}
          class="emoji-grid"
          role="listbox"
          aria-label={t.value.emoji}
          onKeyDown={onKey}
          onFocusOut={(e) => {
            const next = e.relatedTarget as Node | null;
            if (!next || (!gridRef.current?.contains(next) && next !== buttonRef.current)) open.value = false;
          }}
        >
          {emoji.map((em, i) => (
            <button
              type="button"
              role="option"
              data-i={i}
              aria-selected={i === at.value}
              tabIndex={i === at.value ? 0 : -1}
              aria-label={name(i)}
              title={name(i)}
              // A click from the keyboard (Enter, Space: detail 0) takes the choice the arrows made, even when
              // the focus has not caught up with a fast typist yet; a mouse click takes the emoji clicked.
              onClick={(e) => pick(e.detail === 0 ? at.value : i)}
            >
              {em.ch}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

function TransferForm() {
  const submit = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    void transfer(String(data.get("target") ?? ""), String(data.get("note") ?? "").trim());
  };
  return (
    <form class="transfer-form" onSubmit={submit}>
      <label>
        {t.value.transferTo}
        <select name="target" required>
          <optgroup label={t.value.agents}>
            {directory.value.map((a) => (
              <option value={"agent:" + a.id} disabled={!a.has_room}>
                {a.name} · {a.has_room ? t.value.online : t.value.unavailable}
              </option>
            ))}
          </optgroup>
          <optgroup label={t.value.teams}>
            {teams.value.map((tm) => (
              <option value={"team:" + tm.id}>{tm.name}</option>
            ))}
          </optgroup>
        </select>
      </label>
      <label>
        {t.value.note}
        <input name="note" placeholder={t.value.notePlaceholder} maxLength={4000} />
      </label>
      {transferError.value && <p class="error" role="alert">{transferError.value}</p>}
      <button type="submit" class="primary">{t.value.transfer}</button>
      <button type="button" onClick={() => (transferring.value = false)}>{t.value.cancel}</button>
    </form>
  );
}

function CustomerPanel() {
  const p = panel.value;
  if (!selected.value || !p) return null;
  const ctx = p.customer.context ?? {};
  const rows: [string, string | undefined][] = [
    [t.value.email, p.customer.email],
    [t.value.phone, p.customer.phone],
    [t.value.channel, t.value.channels[p.channel] ?? p.channel],
    [t.value.page, ctx["page_url"]],
    [t.value.browser, ctx["user_agent"]],
    [t.value.location, ctx["location"]],
    [t.value.language, ctx["language"]],
  ];
  return (
    <aside class="customer" aria-label={t.value.customer}>
      <h3>{p.customer.name || "—"}</h3>
      <dl>
        {rows
          .filter(([, v]) => !!v)
          .map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
      </dl>
      <h4>{t.value.previous}</h4>
      {p.previous.length === 0 ? (
        <p class="empty">{t.value.none}</p>
      ) : (
        <ul class="previous">
          {p.previous.map((c) => (
            <li>
              <button type="button" class="link" onClick={() => void openConversation(c.id)}>
                {new Date(c.created_at).toLocaleString(lang.value)} · {t.value.status[c.status] ?? c.status}
              </button>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

// ---- Admin pages (admins only; the API refuses everyone else the same way) ----

interface AdminAgent extends Agent {
  auto_accept: boolean;
  weight: number;
  disabled: boolean;
}
const adminAgents = signal<AdminAgent[]>([]);
const adminTeams = signal<{ id: string; name: string }[]>([]);
const adminSites = signal<AdminSite[]>([]);
const adminNotice = signal("");
const adminFailed = signal(false);

async function loadAdmin(): Promise<void> {
  const [a, tm, st] = await Promise.all([
    call<{ agents: AdminAgent[] }>("GET", "/api/v1/agents"),
    call<{ teams: { id: string; name: string }[] }>("GET", "/api/v1/teams"),
    call<{ sites: AdminSite[] }>("GET", "/api/v1/sites"),
  ]);
  batch(() => {
    adminAgents.value = a.agents;
    adminTeams.value = tm.teams;
    adminSites.value = st.sites;
  });
}

/** adminSave sends one change and reads the pages' data again; it reports whether the change was taken. */
async function adminSave(method: string, path: string, body: unknown): Promise<boolean> {
  adminNotice.value = ""; // a notice left from the last change must not seem to confirm this one
  adminFailed.value = false;
  try {
    await call(method, path, body);
    adminNotice.value = t.value.saved;
    await loadAdmin();
    return true;
  } catch (e) {
    // The server's reason is English; the notice says in the viewer's language that nothing was saved, and
    // which field was refused.
    const w = t.value;
    const label = e instanceof ApiError && e.field ? (w.fieldNames[e.field] ?? e.field) : "";
    adminFailed.value = true;
    adminNotice.value = `${w.notSaved}${label ? ` — ${label}` : ""}${w.colon}${e instanceof ApiError ? e.message : String(e)}`;
    return false;
  }
}

const roles = ["agent", "supervisor", "admin"] as const;

function num(form: FormData, name: string): number {
  return Number(form.get(name) ?? 0) || 0;
}

function AdminPage() {
  useEffect(() => {
    void loadAdmin();
  }, []);
  return (
    <main class="admin">
      {adminNotice.value && (
        <p class={adminFailed.value ? "notice error" : "notice"} role={adminFailed.value ? "alert" : "status"}>
          {adminNotice.value}
        </p>
      )}
      <section>
        <h2>{t.value.agents}</h2>
        <table>
          <thead>
            <tr>
              <th>{t.value.name}</th><th>{t.value.email}</th><th>{t.value.role}</th><th>{t.value.capacity}</th>
              <th>{t.value.autoAccept}</th><th>{t.value.weight}</th><th>{t.value.teams}</th><th>{t.value.disabled}</th><th />
            </tr>
          </thead>
          <tbody>
            {adminAgents.value.map((a) => (
              <tr data-agent={a.email}>
                <td>{a.name}</td>
                <td>{a.email}</td>
                <td>
                  <select name="role" value={a.role} form={"f-" + a.id}>
                    {roles.map((r) => (
                      <option value={r}>{t.value.roles[r]}</option>
                    ))}
                  </select>
                </td>
                <td><input name="capacity" type="number" min={0} max={1000} value={a.capacity} form={"f-" + a.id} /></td>
                <td><input name="auto_accept" type="checkbox" checked={a.auto_accept} form={"f-" + a.id} /></td>
                <td><input name="weight" type="number" min={1} max={1000} value={a.weight} form={"f-" + a.id} /></td>
                <td class="teams">
                  {adminTeams.value.map((tm) => (
                    <label>
                      <input name="teams" type="checkbox" value={tm.id} checked={a.teams.includes(tm.id)} form={"f-" + a.id} /> {tm.name}
                    </label>
                  ))}
                </td>
                <td><input name="disabled" type="checkbox" checked={a.disabled} form={"f-" + a.id} /></td>
                <td>
                  <form
                    id={"f-" + a.id}
                    onSubmit={(e) => {
                      e.preventDefault();
                      const f = new FormData(e.currentTarget as HTMLFormElement);
                      void adminSave("PATCH", `/api/v1/agents/${a.id}`, {
                        role: String(f.get("role")),
                        capacity: num(f, "capacity"),
                        weight: num(f, "weight"),
                        auto_accept: f.get("auto_accept") === "on",
                        disabled: f.get("disabled") === "on",
                        teams: f.getAll("teams").map(String),
                      });
                    }}
                  >
                    <button type="submit">{t.value.save}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          class="inline new-agent"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const f = new FormData(form);
            void adminSave("POST", "/api/v1/agents", {
              email: String(f.get("email")),
              name: String(f.get("name")),
              password: String(f.get("password")),
              role: String(f.get("role")),
              capacity: num(f, "capacity"),
              auto_accept: f.get("auto_accept") === "on",
              teams: f.getAll("teams").map(String),
            }).then((ok) => ok && form.reset());
          }}
        >
          <input name="name" placeholder={t.value.name} aria-label={t.value.name} required maxLength={100} />
          <input name="email" type="email" placeholder={t.value.email} aria-label={t.value.email} required />
          <input name="password" type="password" placeholder={t.value.password} aria-label={t.value.password} minLength={10} maxLength={72} required autocomplete="new-password" />
          <select name="role" aria-label={t.value.role}>
            {roles.map((r) => (
              <option value={r}>{t.value.roles[r]}</option>
            ))}
          </select>
          <label>
            {t.value.capacity} <input name="capacity" type="number" min={0} max={1000} defaultValue="5" />
          </label>
          <label class="check">
            <input name="auto_accept" type="checkbox" /> {t.value.autoAccept}
          </label>
          {adminTeams.value.map((tm, i) => (
            <label class="check">
              <input name="teams" type="checkbox" value={tm.id} defaultChecked={i === 0} /> {tm.name}
            </label>
          ))}
          <button type="submit">{t.value.addAgent}</button>
        </form>
      </section>
      <section>
        <h2>{t.value.teams}</h2>
        <ul class="teams">
          {adminTeams.value.map((tm) => (
            <li key={tm.id + tm.name} data-team={tm.id}>
              <form
                class="inline"
                onSubmit={(e) => {
                  e.preventDefault();
                  const f = new FormData(e.currentTarget as HTMLFormElement);
                  void adminSave("PATCH", `/api/v1/teams/${tm.id}`, { name: String(f.get("name")) });
                }}
              >
                <input name="name" defaultValue={tm.name} required maxLength={100} aria-label={t.value.name} />
                <button type="submit">{t.value.rename}</button>
              </form>
            </li>
          ))}
        </ul>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget as HTMLFormElement);
            void adminSave("POST", "/api/v1/teams", { name: String(f.get("team")) });
          }}
        >
          <input name="team" placeholder={t.value.name} required />
          <button type="submit">{t.value.addTeam}</button>
        </form>
      </section>
      <section>
        <h2>{t.value.sites}</h2>
        {adminSites.value.map((st) => (
          <SiteForm key={siteKey(st)} site={st} teams={adminTeams.value} t={t.value} onSave={(change) => void adminSave("PATCH", `/api/v1/sites/${st.id}`, change)} />
        ))}
        <NewSiteForm teams={adminTeams.value} t={t.value} onSave={(site) => void adminSave("POST", "/api/v1/sites", site)} />
      </section>
    </main>
  );
}

// ---- Canned replies: every agent's own; the shared ones managed by supervisors and admins ----

const cannedNotice = signal("");

async function cannedSave(method: string, path: string, body?: unknown): Promise<boolean> {
  cannedNotice.value = "";
  try {
    await call(method, path, body);
    cannedNotice.value = t.value.saved;
    await loadCanned();
    return true;
  } catch (e) {
    cannedNotice.value = e instanceof ApiError && e.code === "conflict" ? t.value.shortcutTaken : e instanceof ApiError ? e.message : String(e);
    return false;
  }
}

function CannedPage() {
  useEffect(() => {
    cannedNotice.value = "";
    void loadCanned();
  }, []);
  const mayShare = me.value?.role !== "agent";
  return (
    <main class="admin canned-page">
      {cannedNotice.value && <p class="notice" role="status">{cannedNotice.value}</p>}
      <section>
        <h2>{t.value.cannedReplies}</h2>
        <p class="hint">{mayShare ? t.value.cannedHintShared : t.value.cannedHint}</p>
        <table>
          <thead>
            <tr>
              <th>{t.value.shortcut}</th><th>{t.value.text}</th><th>{t.value.sharedLabel}</th><th />
            </tr>
          </thead>
          <tbody>
            {canned.value.map((c) => {
              const editable = !c.shared || mayShare;
              const form = "c-" + c.id;
              return (
                <tr data-canned={c.shortcut} key={c.id}>
                  <td>
                    {editable ? (
                      <input name="shortcut" value={c.shortcut} form={form} required maxLength={32} aria-label={t.value.shortcut} />
                    ) : (
                      <code>/{c.shortcut}</code>
                    )}
                  </td>
                  <td>
                    {editable ? <textarea name="body" value={c.body} form={form} rows={2} required maxLength={4000} aria-label={t.value.text} /> : c.body}
                  </td>
                  <td>{c.shared ? t.value.sharedYes : t.value.personal}</td>
                  <td>
                    {editable && (
                      <form
                        id={form}
                        onSubmit={(e) => {
                          e.preventDefault();
                          const f = new FormData(e.currentTarget as HTMLFormElement);
                          void cannedSave("PATCH", `/api/v1/canned-replies/${c.id}`, { shortcut: String(f.get("shortcut") ?? "").trim(), body: String(f.get("body") ?? "") });
                        }}
                      >
                        <button type="submit">{t.value.save}</button>
                        <button type="button" class="delete" onClick={() => void cannedSave("DELETE", `/api/v1/canned-replies/${c.id}`)}>
                          {t.value.remove}
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <form
          class="inline new-canned"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const f = new FormData(form);
            void cannedSave("POST", "/api/v1/canned-replies", {
              shortcut: String(f.get("shortcut") ?? "").trim().replace(/^\//, ""),
              body: String(f.get("body") ?? ""),
              shared: f.get("shared") === "on",
            }).then((ok) => ok && form.reset());
          }}
        >
          <input name="shortcut" placeholder={t.value.shortcut} aria-label={t.value.shortcut} required maxLength={33} />
          <textarea name="body" placeholder={t.value.text} aria-label={t.value.text} rows={2} required maxLength={4000} />
          {mayShare && (
            <label class="check">
              <input name="shared" type="checkbox" /> {t.value.shareWithAll}
            </label>
          )}
          <button type="submit" class="primary">{t.value.addCanned}</button>
        </form>
      </section>
    </main>
  );
}

function App() {
  if (!booted.value) return null;
  if (!me.value) return <Login />;
  return (
    <div class="shell">
      <Header />
      {page.value === "admin" ? (
        <AdminPage />
      ) : page.value === "canned" ? (
        <CannedPage />
      ) : page.value === "reports" ? (
        <ReportsPage t={t.value} />
      ) : (
        <div class="body">
          <Inbox />
          <ConversationPane />
          <CustomerPanel />
        </div>
      )}
    </div>
  );
}

document.addEventListener("visibilitychange", markRead);

const mountPoint = document.getElementById("app");
if (!mountPoint) throw new Error("index.html has no #app element");
render(<App />, mountPoint);
void boot();
