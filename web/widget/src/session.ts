// The chat session: the customer's identity, their conversation and its messages, and the delivery contract
// on the client side (docs/protocol.md): every message the customer writes is kept in localStorage with its
// client message id until the server acknowledges it, and is sent — with that same id, so at most once in
// the conversation — whenever a connection is there; received messages are applied in seq order exactly
// once (duplicates dropped, gaps refilled by resubscribing); a reload or a second tab picks up the same
// conversation from the server's history.

import { Api, ApiError, type Conversation, type HistoryPage, type ServerFrame, type SiteSettings, type VisitorSession, type WireMessage } from "./api";
import { newID } from "./id";
import { Connection } from "./conn";

/** OutItem is a message the customer wrote that the server has not acknowledged yet. */
export interface OutItem {
  cid: string;
  body: string;
  t: number;
}

interface Persisted {
  token?: string;
  conv?: string;
  outbox: OutItem[];
  prechat?: boolean;
  dept?: string;
  open?: boolean;
  // What the loader needs before the panel loads: the launcher's colour and side.
  look?: { color?: string; position?: string; language?: string };
}

/** Pending is an entry the UI shows after the conversation's messages: a send or an upload under way. */
export interface Pending {
  cid: string;
  body: string;
  kind: "text" | "upload";
  state: "sending" | "failed";
  error?: string;
  t: number;
}

export type Phase = "loading" | "error" | "prechat" | "chat";

const ackTimeout = 10_000;
const historyPage = 50;
const retryCodes = new Set(["unavailable", "rate_limited", "shutting_down", "internal", "network"]);

/** storageKey is where a site's widget state lives in the host page's localStorage. */
export function storageKey(site: string): string {
  return "parley:v1:" + site;
}

export class Session {
  phase: Phase = "loading";
  errorMessage = "";
  settings: SiteSettings = {};
  customer: VisitorSession["customer"] | undefined;
  conv: Conversation | undefined;
  epoch = "";
  /** applied messages by seq: 1..lastSeq minus what was not loaded (below lowest) */
  messages = new Map<number, WireMessage>();
  lowest = 0;
  lastSeq = 0;
  agentRead = 0;
  customerRead = 0;
  pending: Pending[] = [];
  /** client message id -> seq, for sends acknowledged but not yet received */
  acked = new Map<string, number>();
  typingName = "";
  typingUntil = 0;
  agentName = "";
  /** undefined: not known yet; null: not rated */
  rating: { score: number } | null | undefined;
  /** the previous conversation, shown above a new one started after it closed */
  archive: WireMessage[] = [];
  queue: { position: number; wait: number } | undefined;
  online = false;
  loadingEarlier = false;

  readonly api: Api;
  readonly conn: Connection;
  private key: string;
  private listeners: (() => void)[] = [];
  private inflight: { cid: string; at: number } | undefined;
  private resyncing = false;
  private starting: Promise<void> | undefined;
  private restBusy = false;
  private readSent = 0;
  private typingSent = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private blobs = new Map<string, Promise<string>>();
  visible = false;

  constructor(
    base: string,
    readonly site: string,
  ) {
    this.api = new Api(base);
    this.key = storageKey(site);
    this.conn = new Connection({
      api: this.api,
      site,
      cursor: () => (this.conv ? { conversation_id: this.conv.id, epoch: this.epoch, last_seq: this.lastSeq } : undefined),
      frame: (f) => this.onFrame(f),
      opened: () => this.onOpened(),
      state: (on) => {
        this.online = on;
        if (!on) this.inflight = undefined;
        this.emit();
      },
      unauthorized: () => void this.restart(),
    });
    window.addEventListener("storage", (e) => {
      if (e.key === this.key) this.fromOtherTab();
    });
  }

  /** onChange registers a listener called after every state change. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  // ---- persistence -------------------------------------------------------------------------------------

  load(): Persisted {
    try {
      const v = JSON.parse(localStorage.getItem(this.key) ?? "null") as Persisted | null;
      if (v && Array.isArray(v.outbox)) return v;
    } catch {
      // storage disabled or corrupt: start empty
    }
    return { outbox: [] };
  }

  // save re-reads before writing, so another tab's changes in between are kept.
  private save(change: (p: Persisted) => void): Persisted {
    const p = this.load();
    change(p);
    try {
      localStorage.setItem(this.key, JSON.stringify(p));
    } catch {
      // storage full or disabled: the session still works for this page view
    }
    return p;
  }

  setOpen(open: boolean): void {
    this.visible = open;
    this.save((p) => (p.open = open));
    if (open) this.markRead();
  }

  // ---- start-up ----------------------------------------------------------------------------------------

  async init(): Promise<void> {
    this.phase = "loading";
    this.emit();
    const p = this.load();
    let vs: VisitorSession;
    try {
      vs = await this.api.call<VisitorSession>("POST", "api/v1/visitor/session", {
        site_key: this.site,
        token: p.token ?? "",
        context: pageContext(),
      });
    } catch (e) {
      this.fail(e);
      return;
    }
    this.api.token = vs.token;
    this.customer = vs.customer;
    this.settings = vs.site.settings ?? {};
    this.epoch = vs.epoch;
    const s = this.settings;
    this.save((q) => {
      if (q.token !== vs.token) {
        q.conv = undefined; // another customer: the old conversation is not theirs
        q.prechat = undefined;
      }
      q.token = vs.token;
      q.look = { color: s.color ?? "", position: s.position ?? "", language: s.language ?? "" };
    });
    try {
      await this.findConversation();
    } catch (e) {
      this.fail(e);
      return;
    }
    const q = this.load();
    this.phase = !this.conv && s.pre_chat?.enabled && !q.prechat ? "prechat" : "chat";
    this.syncPending();
    this.emit();
    // The connection authenticates as the customer it finds at that moment, so it waits for the pre-chat
    // form's details.
    if (this.phase === "chat") this.conn.start();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), 2000);
  }

  private fail(e: unknown): void {
    this.phase = "error";
    this.errorMessage = e instanceof ApiError && e.status >= 400 && e.status < 500 ? e.message : "";
    this.emit();
  }

  private async restart(): Promise<void> {
    this.conn.stop();
    this.save((p) => (p.token = undefined));
    this.api.token = "";
    await this.init();
  }

  // findConversation picks the conversation to show: the one this browser followed, unless it closed and
  // another is open (started in another tab or on another device), else the customer's open one.
  private async findConversation(): Promise<void> {
    const p = this.load();
    let conv: Conversation | undefined;
    if (p.conv) {
      try {
        conv = await this.api.call<Conversation>("GET", "api/v1/conversations/" + p.conv);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }
    if (!conv || conv.status === "closed") {
      const list = await this.api.call<{ conversations: Conversation[] }>("GET", "api/v1/conversations");
      const open = list.conversations.find((c) => c.status !== "closed");
      if (open) conv = await this.api.call<Conversation>("GET", "api/v1/conversations/" + open.id);
    }
    if (conv) await this.show(conv);
  }

  // show makes conv the current conversation and loads its latest page of history.
  private async show(conv: Conversation): Promise<void> {
    if (this.conv && this.conv.id !== conv.id && this.messages.size > 0) {
      this.archive = this.sorted();
    }
    this.conv = conv;
    this.epoch = conv.epoch || this.epoch;
    this.agentRead = conv.agent_read_seq ?? 0;
    this.customerRead = conv.customer_read_seq ?? 0;
    this.readSent = this.customerRead;
    this.messages.clear();
    this.lowest = 0;
    this.lastSeq = 0;
    this.rating = undefined;
    this.queue = undefined;
    this.agentName = "";
    this.save((p) => (p.conv = conv.id));
    await this.loadLatest();
    if (conv.status === "closed") await this.loadRating();
  }

  private async loadLatest(): Promise<void> {
    const conv = this.conv;
    if (!conv) return;
    const page = await this.api.call<HistoryPage>("GET", `api/v1/conversations/${conv.id}/messages?limit=${historyPage}`);
    if (this.conv !== conv) return;
    this.messages.clear();
    this.epoch = page.epoch;
    for (const m of page.messages) this.messages.set(m.seq, m);
    this.lowest = page.messages[0]?.seq ?? 0;
    this.lastSeq = page.messages.reduce((mx, m) => Math.max(mx, m.seq), 0);
    for (const m of page.messages) this.noteMessage(m, false);
  }

  /** loadEarlier pages back through the history (?before=), prepending what it finds. */
  async loadEarlier(): Promise<void> {
    const conv = this.conv;
    if (!conv || this.lowest <= 1 || this.loadingEarlier) return;
    this.loadingEarlier = true;
    this.emit();
    try {
      const page = await this.api.call<HistoryPage>("GET", `api/v1/conversations/${conv.id}/messages?before=${this.lowest}&limit=${historyPage}`);
      if (this.conv === conv) {
        for (const m of page.messages) if (m.seq < this.lowest || this.lowest === 0) this.messages.set(m.seq, m);
        if (page.messages.length > 0) this.lowest = Math.min(this.lowest, page.messages[0]!.seq);
        else this.lowest = 1;
      }
    } catch {
      // offline: the button stays for another try
    } finally {
      this.loadingEarlier = false;
      this.emit();
    }
  }

  private async loadRating(): Promise<void> {
    const conv = this.conv;
    if (!conv) return;
    try {
      const r = await this.api.call<{ score: number }>("GET", `api/v1/conversations/${conv.id}/rating`);
      if (this.conv === conv) this.rating = { score: r.score };
    } catch (e) {
      if (this.conv === conv && e instanceof ApiError && e.status === 404) this.rating = null;
    }
  }

  // ---- the connection ----------------------------------------------------------------------------------

  private onOpened(): void {
    this.inflight = undefined;
    this.subscribe();
    void this.flush();
  }

  private subscribe(): void {
    if (!this.conv) return;
    if (this.conn.mode === "ws") {
      this.resyncing = true;
      this.conn.send({ type: "subscribe", subscriptions: [{ conversation_id: this.conv.id, epoch: this.epoch, last_seq: this.lastSeq }] });
    } else {
      this.conn.kick();
    }
  }

  private onFrame(f: ServerFrame): void {
    switch (f.type) {
      case "message":
        if (f.message) this.applyMessage(f.message);
        break;
      case "ack":
        this.onAck(f);
        break;
      case "resumed":
        void this.onResumed(f);
        break;
      case "heartbeat":
        if (this.conv && f.heads && !this.resyncing && this.conn.mode === "ws") {
          const head = f.heads[this.conv.id];
          if (head !== undefined && head > this.lastSeq) this.subscribe();
        }
        break;
      case "read":
        if (f.conversation_id !== this.conv?.id || f.seq === undefined) break;
        if (f.side === "agent" && f.seq > this.agentRead) this.agentRead = f.seq;
        if (f.side === "customer" && f.seq > this.customerRead) this.customerRead = f.seq;
        this.emit();
        break;
      case "typing":
        if (f.conversation_id === this.conv?.id && f.side === "agent") {
          this.typingName = f.name ?? "";
          this.typingUntil = Date.now() + 6000;
          this.emit();
          setTimeout(() => this.emit(), 6100);
        }
        break;
      case "error":
        this.onError(f);
        break;
      case "queue":
        // Queue position pushed by the router: {conversation_id, position, estimated_wait_s}.
        if (f.conversation_id === this.conv?.id) {
          this.queue = { position: Number(f["position"] ?? 0), wait: Number(f["estimated_wait_s"] ?? 0) };
          this.emit();
        }
        break;
    }
  }

  // applyMessage is the receive rule: the next seq is applied, an old one dropped, a later one means frames
  // were lost — resubscribe from the last applied seq and the server replays the rest in order.
  private applyMessage(m: WireMessage): void {
    const conv = this.conv;
    if (!conv || m.conversation_id !== conv.id) return;
    if (m.seq <= this.lastSeq) return;
    if (m.seq > this.lastSeq + 1) {
      if (!this.resyncing) this.subscribe();
      return;
    }
    this.messages.set(m.seq, m);
    this.lastSeq = m.seq;
    if (this.lowest === 0) this.lowest = m.seq;
    this.noteMessage(m, true);
    this.markRead();
    this.emit();
  }

  // noteMessage updates what follows from a message: our own send arrived (so it is stored, ack or not),
  // the agent's name, and the conversation's state from system events.
  private noteMessage(m: WireMessage, live: boolean): void {
    if (m.hidden) return;
    if (m.sender_type === "customer" && m.client_msg_id) this.delivered(m.client_msg_id);
    if (m.sender_type === "agent" && m.sender_name) {
      this.agentName = m.sender_name;
      if (live) this.typingUntil = 0;
    }
    if (m.type !== "system" || !m.meta || !this.conv) return;
    const ev = String(m.meta["event"] ?? "");
    const name = String(m.meta["name"] ?? "");
    switch (ev) {
      case "closed":
        this.conv.status = "closed";
        this.queue = undefined;
        if (live) this.rating = null;
        break;
      case "assigned":
      case "transferred":
        if (name) this.agentName = name;
        this.conv.status = "assigned";
        this.queue = undefined;
        break;
      case "queued":
        this.conv.status = "queued";
        this.queue = { position: Number(m.meta["position"] ?? 0), wait: Number(m.meta["estimated_wait_s"] ?? 0) };
        break;
      case "pending":
      case "leave_message":
        this.conv.status = "pending";
        this.queue = undefined;
        break;
      case "reopened":
        this.conv.status = "assigned";
        this.rating = undefined;
        break;
    }
  }

  private async onResumed(f: ServerFrame): Promise<void> {
    if (f.conversation_id !== this.conv?.id) return;
    if (f.reset) {
      // The server's store is not the one our positions came from (a restore): drop everything and reload.
      this.epoch = f.epoch ?? this.epoch;
      try {
        await this.loadLatest();
      } catch {
        // the next reconnect tries again
      }
      this.resyncing = false;
      this.subscribe();
      this.emit();
      return;
    }
    this.resyncing = false;
    if (f.recovered === false) this.subscribe(); // more than one replay's worth: ask again from where it ended
  }

  private onAck(f: ServerFrame): void {
    const cid = f.client_msg_id;
    if (!cid || f.seq === undefined) return;
    if (this.inflight?.cid === cid) this.inflight = undefined;
    if (f.seq <= this.lastSeq) this.delivered(cid);
    else {
      this.acked.set(cid, f.seq);
      this.dropFromOutbox(cid);
    }
    this.emit();
    void this.flush();
  }

  private onError(f: ServerFrame): void {
    const cid = f.client_msg_id;
    if (!cid) return;
    if (this.inflight?.cid === cid) this.inflight = undefined;
    if (f.code === "conversation_closed") {
      // Not stored: the conversation closed before it arrived. It starts the customer's next conversation.
      if (this.conv) this.conv.status = "closed";
      void this.flush();
      return;
    }
    if (retryCodes.has(f.code ?? "")) {
      this.inflight = { cid, at: Date.now() - ackTimeout + 2000 }; // retry in two seconds
      return;
    }
    this.failItem(cid, f.error ?? f.code ?? "");
  }

  private failItem(cid: string, why: string): void {
    const p = this.pending.find((x) => x.cid === cid);
    if (p) {
      p.state = "failed";
      p.error = why;
    }
    this.emit();
    void this.flush();
  }

  // delivered: a send of ours is stored and shown as a message; nothing about it is pending any more.
  private delivered(cid: string): void {
    this.acked.delete(cid);
    this.dropFromOutbox(cid);
    this.pending = this.pending.filter((p) => p.cid !== cid);
    if (this.inflight?.cid === cid) this.inflight = undefined;
  }

  private dropFromOutbox(cid: string): void {
    this.save((p) => (p.outbox = p.outbox.filter((x) => x.cid !== cid)));
  }

  // ---- sending -----------------------------------------------------------------------------------------

  /** send queues a message: it is kept until acknowledged and survives reloads and lost connections. */
  send(body: string): void {
    const item: OutItem = { cid: newID(), body, t: Date.now() };
    this.save((p) => p.outbox.push(item));
    this.pending.push({ cid: item.cid, body, kind: "text", state: "sending", t: item.t });
    this.emit();
    void this.flush();
  }

  /** retry sends a failed message again under the same client message id. */
  retry(cid: string): void {
    const p = this.pending.find((x) => x.cid === cid);
    if (!p || p.kind !== "text") return;
    p.state = "sending";
    p.error = undefined;
    if (!this.load().outbox.some((x) => x.cid === cid)) this.save((q) => q.outbox.push({ cid, body: p.body, t: p.t }));
    this.emit();
    void this.flush();
  }

  /** discard forgets a failed message or upload. */
  discard(cid: string): void {
    this.delivered(cid);
    this.emit();
  }

  // flush sends the oldest unacknowledged message, one at a time: the next goes when this one is
  // acknowledged, so the conversation gets them exactly in the order they were written, also across
  // reconnects. An unanswered send is repeated (same id) after the ack timeout.
  private async flush(): Promise<void> {
    if (!this.online) return;
    const failed = new Set(this.pending.filter((p) => p.state === "failed").map((p) => p.cid));
    const head = this.load().outbox.find((x) => !failed.has(x.cid) && !this.acked.has(x.cid));
    if (!head) return;
    if (!this.conv || this.conv.status === "closed") {
      await this.startConversation();
      if (!this.conv || this.conv.status === "closed") return;
    }
    const conv = this.conv;
    if (this.conn.mode === "ws") {
      if (this.inflight && Date.now() - this.inflight.at < ackTimeout) return;
      if (this.conn.send({ type: "send", id: head.cid, conversation_id: conv.id, client_msg_id: head.cid, body: head.body })) {
        this.inflight = { cid: head.cid, at: Date.now() };
      }
      return;
    }
    if (this.restBusy) return;
    this.restBusy = true;
    try {
      const ack = await this.api.call<ServerFrame>("POST", `api/v1/conversations/${conv.id}/messages`, { body: head.body }, { "Idempotency-Key": head.cid });
      this.restBusy = false;
      this.onAck({ ...ack, type: "ack" });
    } catch (e) {
      this.restBusy = false;
      const code = e instanceof ApiError ? e.code || (e.status === 0 ? "network" : "") : "network";
      if (code === "conversation_closed") this.onError({ type: "error", client_msg_id: head.cid, code });
      else if (!retryCodes.has(code)) this.failItem(head.cid, e instanceof Error ? e.message : String(e));
      // else: retried by the ticker
    }
  }

  // startConversation creates (or resumes) the customer's open conversation, routed to the department the
  // pre-chat form chose.
  startConversation(): Promise<void> {
    this.starting ??= (async () => {
      try {
        const dept = this.load().dept;
        const conv = await this.api.call<Conversation>("POST", "api/v1/conversations", dept ? { team_id: dept } : undefined);
        if (this.conv?.id !== conv.id) {
          await this.show(conv);
          this.subscribe();
        }
        this.emit();
      } catch {
        // offline or refused: the outbox keeps everything; the ticker tries again
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private tick(): void {
    if (this.online) void this.flush();
    if (this.typingUntil && Date.now() > this.typingUntil) {
      this.typingUntil = 0;
      this.emit();
    }
  }

  /** typing tells the agent the customer is typing; at most every three seconds. */
  typing(): void {
    const conv = this.conv;
    if (!conv || conv.status === "closed" || !this.online || Date.now() - this.typingSent < 3000) return;
    this.typingSent = Date.now();
    if (!this.conn.send({ type: "typing", conversation_id: conv.id })) {
      this.api.call("POST", `api/v1/conversations/${conv.id}/typing`).catch(() => {});
    }
  }

  /** markRead moves the customer's read cursor when they can see the messages. */
  markRead(): void {
    const conv = this.conv;
    if (!conv || !this.visible || document.visibilityState !== "visible" || !this.online) return;
    if (this.lastSeq <= this.readSent) return;
    const seq = this.lastSeq;
    this.readSent = seq;
    this.customerRead = Math.max(this.customerRead, seq);
    if (!this.conn.send({ type: "read", conversation_id: conv.id, seq })) {
      this.api.call("POST", `api/v1/conversations/${conv.id}/read`, { seq }).catch(() => {
        this.readSent = 0;
      });
    }
  }

  // ---- uploads, rating, transcript, pre-chat -----------------------------------------------------------

  async upload(file: File): Promise<void> {
    const cid = newID();
    const item: Pending = { cid, body: file.name, kind: "upload", state: "sending", t: Date.now() };
    this.pending.push(item);
    this.emit();
    try {
      if (!this.conv || this.conv.status === "closed") await this.startConversation();
      const conv = this.conv;
      if (!conv || conv.status === "closed") throw new ApiError(0, "network", "");
      const form = new FormData();
      form.append("file", file, file.name);
      const ack = await this.api.call<ServerFrame>("POST", `api/v1/conversations/${conv.id}/attachments`, form, { "Idempotency-Key": cid });
      if (ack.seq !== undefined && ack.seq <= this.lastSeq) this.delivered(cid);
      else if (ack.seq !== undefined) this.acked.set(cid, ack.seq);
      // The message itself arrives on the connection, in order; until then the entry shows as sent.
      this.emit();
    } catch (e) {
      item.state = "failed";
      item.error = e instanceof ApiError && e.status > 0 ? e.message : "";
      this.emit();
    }
  }

  /** attachmentURL fetches an attachment with the visitor token and returns a blob: URL for it. */
  attachmentURL(id: string): Promise<string> {
    let p = this.blobs.get(id);
    if (!p) {
      p = this.api.call<Blob>("GET", "api/v1/attachments/" + encodeURIComponent(id)).then((b) => URL.createObjectURL(b));
      p.catch(() => this.blobs.delete(id));
      this.blobs.set(id, p);
    }
    return p;
  }

  async rate(score: number, comment: string): Promise<boolean> {
    const conv = this.conv;
    if (!conv) return false;
    try {
      await this.api.call("POST", `api/v1/conversations/${conv.id}/rating`, { score, comment });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === "conflict")) return false;
    }
    this.rating = { score };
    this.emit();
    return true;
  }

  /** transcript downloads the conversation as a text file in the customer's language and time zone. */
  async transcript(lang: string): Promise<void> {
    const conv = this.conv;
    if (!conv) return;
    const blob = await this.api.call<Blob>("GET", `api/v1/conversations/${conv.id}/transcript?lang=${encodeURIComponent(lang)}&tz_offset=${new Date().getTimezoneOffset()}`);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `chat-${conv.id.slice(0, 8)}.txt`;
    a.rel = "noopener";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  /** submitPreChat stores the customer's details and department, then opens the conversation. */
  async submitPreChat(profile: { name?: string; email?: string; phone?: string }, dept: string): Promise<void> {
    const vs = await this.api.call<VisitorSession>("POST", "api/v1/visitor/session", {
      site_key: this.site,
      token: this.api.token,
      name: profile.name ?? "",
      email: profile.email ?? "",
      phone: profile.phone ?? "",
      context: pageContext(),
    });
    this.customer = vs.customer;
    this.save((p) => {
      p.prechat = true;
      p.dept = dept || undefined;
    });
    this.phase = "chat";
    this.emit();
    this.conn.stop(); // a connection opened before carries the old profile
    this.conn.start();
    await this.startConversation();
  }

  /** newConversation leaves a closed conversation for a fresh start (the next message creates it). */
  newConversation(): void {
    if (!this.conv || this.conv.status !== "closed") return;
    this.archive = [];
    this.conv = undefined;
    this.messages.clear();
    this.lastSeq = this.lowest = 0;
    this.rating = undefined;
    this.agentName = "";
    this.save((p) => (p.conv = undefined));
    if (this.settings.pre_chat?.enabled && this.settings.pre_chat.departments?.length) {
      this.save((p) => (p.prechat = undefined));
      this.phase = "prechat";
    }
    this.emit();
  }

  // ---- views -------------------------------------------------------------------------------------------

  sorted(): WireMessage[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  /** unread counts what the other side wrote that the customer has not seen. */
  unread(): number {
    let n = 0;
    for (const m of this.messages.values()) {
      if (m.seq > this.customerRead && !m.hidden && m.sender_type !== "customer") n++;
    }
    return n;
  }

  typingNow(): boolean {
    return this.typingUntil > Date.now();
  }

  // syncPending rebuilds the pending entries from the stored outbox (on start and when another tab wrote).
  private syncPending(): void {
    const out = this.load().outbox;
    const inOutbox = new Set(out.map((x) => x.cid));
    // Uploads and acknowledged sends (no longer in the outbox, message not yet here) stay as they are.
    const kept = this.pending.filter((p) => p.kind === "upload" || (this.acked.has(p.cid) && !inOutbox.has(p.cid)));
    const failed = new Map(this.pending.filter((p) => p.state === "failed").map((p) => [p.cid, p]));
    this.pending = out.map((x): Pending => failed.get(x.cid) ?? { cid: x.cid, body: x.body, kind: "text", state: "sending", t: x.t });
    this.pending.push(...kept);
    this.pending.sort((a, b) => a.t - b.t);
  }

  private fromOtherTab(): void {
    const p = this.load();
    this.syncPending();
    if (this.phase === "prechat" && p.prechat) this.phase = "chat";
    if (p.conv && p.conv !== this.conv?.id && this.phase !== "loading") {
      // Another tab started a conversation: follow it too.
      this.api
        .call<Conversation>("GET", "api/v1/conversations/" + p.conv)
        .then(async (c) => {
          await this.show(c);
          this.subscribe();
          this.emit();
        })
        .catch(() => {});
    }
    this.emit();
    void this.flush();
  }
}

function clean(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, max);
}

function pageContext(): Record<string, string> {
  return {
    page_url: clean(location.href, 2048),
    page_title: clean(document.title, 512),
    referrer: clean(document.referrer, 2048),
    language: clean(navigator.language || "", 32),
  };
}
