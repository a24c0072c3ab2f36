// The console's live connection: one WebSocket authenticated by the session cookie, resubscribed with the
// last positions after every reconnect (jittered backoff), so a dropped connection, a sleeping laptop or a
// server restart leaves nothing stale. Sends carry a client message id and are resent with the same id until
// acknowledged (docs/protocol.md). Event streams follow the receive rule (§9.4): duplicates are dropped, a gap
// or a heartbeat head ahead of the position resubscribes, and a resume that cannot replay (reset, or more
// missing than one replay holds) is reported to the console, which reads its lists again.

import { newID, type Message } from "./api";

export interface Frame {
  type: string;
  ref?: string;
  conversation_id?: string;
  stream?: string;
  client_msg_id?: string;
  seq?: number;
  message?: Message;
  event?: { stream: string; seq: number; kind: string; conversation_id?: string };
  heads?: Record<string, number>;
  recovered?: boolean;
  reset?: boolean;
  head_seq?: number;
  next_seq?: number;
  epoch?: string;
  ts?: string;
  heartbeat_s?: number;
  side?: string;
  name?: string;
  code?: string;
  error?: string;
}

interface Pending {
  frame: Record<string, unknown>;
  resolve: () => void;
}

export class Live {
  private ws: WebSocket | undefined;
  private backoff = 500;
  // resyncing: a subscribe for the key is in flight; stale: its replay fell short and the console reloads.
  private positions = new Map<string, { stream: boolean; last: number; resyncing?: boolean; stale?: boolean }>();
  private epoch = "";
  private pending = new Map<string, Pending>();
  private stopped = false;
  private heartbeatMs = 25_000;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly onFrame: (f: Frame) => void,
    private readonly onState: (connected: boolean) => void,
  ) {
    // The browser knows before the socket does: a laptop closed or a network gone drops the connection at
    // once, and its return connects again without waiting for the backoff.
    window.addEventListener("offline", () => {
      if (this.ws) this.drop(this.ws);
    });
    window.addEventListener("online", () => {
      if (this.ws || this.stopped) return;
      clearTimeout(this.retryTimer);
      this.backoff = 500;
      this.connect();
    });
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** stop closes the connection and forgets every position (the next login starts afresh). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.watchdog);
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.positions.clear();
    this.pending.clear();
    this.epoch = "";
  }

  /** drop gives up a connection (closed, half-open or offline) and connects again after a jittered backoff. */
  private drop(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close();
    clearTimeout(this.watchdog);
    this.onState(false);
    if (this.stopped) return;
    // Full jitter: a server restart does not bring every console back at the same instant.
    const wait = Math.random() * this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  // The server sends a heartbeat every heartbeat_s: two missed ones mean a half-open connection the browser
  // has not noticed.
  private feedWatchdog(ws: WebSocket): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.drop(ws), this.heartbeatMs * 2 + 10_000);
  }

  private connect(): void {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws";
    const ws = new WebSocket(url);
    this.ws = ws;
    this.feedWatchdog(ws);
    ws.onmessage = (ev) => {
      this.feedWatchdog(ws);
      let f: Frame;
      try {
        f = JSON.parse(String(ev.data)) as Frame;
      } catch {
        return;
      }
      if (f.type === "hello") {
        this.backoff = 500;
        if (f.heartbeat_s) this.heartbeatMs = f.heartbeat_s * 1000;
        this.feedWatchdog(ws);
        this.onState(true);
        this.resubscribe();
        for (const p of this.pending.values()) this.write(p.frame);
      } else if (f.type === "ack" && f.client_msg_id) {
        const p = this.pending.get(f.client_msg_id);
        if (p) {
          this.pending.delete(f.client_msg_id);
          p.resolve();
        }
      } else if (f.type === "message" && f.message) {
        this.advance(f.message.conversation_id, f.message.seq);
      } else if (f.type === "event" && f.event) {
        if (!this.receive(f.event.stream, f.event.seq)) return;
      } else if (f.type === "resumed") {
        const p = this.positions.get(f.stream ?? f.conversation_id ?? "");
        if (p) {
          p.resyncing = false;
          if (f.reset) {
            if (f.epoch) this.epoch = f.epoch;
            p.last = f.head_seq ?? 0;
          }
          if (p.stream && (f.reset || f.recovered === false)) p.stale = true;
        }
      } else if (f.type === "heartbeat" && f.heads) {
        for (const [key, head] of Object.entries(f.heads)) {
          const p = this.positions.get(key);
          if (p?.stream && !p.resyncing && !p.stale && head > p.last) this.resync(key);
        }
      }
      this.onFrame(f);
    };
    ws.onclose = () => this.drop(ws);
  }

  /** receive applies the receive rule to a stream's event: true when it is the next one, to be applied. */
  private receive(key: string, seq: number): boolean {
    const p = this.positions.get(key);
    if (!p) return true;
    if (seq <= p.last || p.stale) return false;
    if (seq > p.last + 1) {
      if (!p.resyncing) this.resync(key);
      return false;
    }
    p.last = seq;
    return true;
  }

  private cursor(key: string): Record<string, unknown> {
    const p = this.positions.get(key)!;
    const c: Record<string, unknown> = p.stream ? { stream: key, last_seq: p.last } : { conversation_id: key, last_seq: p.last };
    if (this.epoch) c["epoch"] = this.epoch;
    return c;
  }

  private resync(key: string): void {
    const p = this.positions.get(key);
    if (!p) return;
    p.resyncing = this.write({ type: "subscribe", subscriptions: [this.cursor(key)] });
  }

  private advance(key: string, seq: number): void {
    const p = this.positions.get(key);
    if (p && seq > p.last) p.last = seq;
  }

  private write(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private resubscribe(): void {
    const keys = [...this.positions.keys()];
    for (const key of keys) this.positions.get(key)!.resyncing = true;
    for (let i = 0; i < keys.length; i += 100) this.write({ type: "subscribe", subscriptions: keys.slice(i, i + 100).map((k) => this.cursor(k)) });
  }

  /** follow subscribes to a conversation or a stream from a position (kept across reconnects). */
  follow(key: string, stream: boolean, last: number): void {
    const cur = this.positions.get(key);
    if (cur && cur.last >= last) return;
    this.positions.set(key, { stream, last });
    this.write({ type: "subscribe", subscriptions: [this.cursor(key)] });
  }

  /**
   * followStreams subscribes to event streams from the heads a list was read at. Streams already followed
   * keep their position (their events since are on their way), unless reload says the list was read again
   * after a reset or a gap: then every stream starts again at the head read.
   */
  followStreams(heads: Record<string, number>, epoch: string, reload: boolean): void {
    if (epoch) this.epoch = epoch;
    const subs: Record<string, unknown>[] = [];
    for (const [key, head] of Object.entries(heads)) {
      const cur = this.positions.get(key);
      if (cur && !reload) continue;
      this.positions.set(key, { stream: true, last: head });
      subs.push(this.cursor(key));
    }
    for (let i = 0; i < subs.length; i += 100) this.write({ type: "subscribe", subscriptions: subs.slice(i, i + 100) });
  }

  /** stale lists the streams whose resume could not replay what was missed: the lists need reading again. */
  stale(): string[] {
    return [...this.positions].filter(([, p]) => p.stale).map(([k]) => k);
  }

  /** position is the last seq seen of a key. */
  position(key: string): number {
    return this.positions.get(key)?.last ?? 0;
  }

  /** send stores a message; the promise resolves on its acknowledgement (resent after reconnects). */
  send(conversationID: string, body: string, msgType: "text" | "note"): Promise<void> {
    const id = newID();
    const frame = { type: "send", id, conversation_id: conversationID, client_msg_id: id, body, msg_type: msgType };
    return new Promise((resolve) => {
      this.pending.set(id, { frame, resolve });
      this.write(frame);
    });
  }

  read(conversationID: string, seq: number): void {
    this.write({ type: "read", conversation_id: conversationID, seq });
  }

  typing(conversationID: string): void {
    this.write({ type: "typing", conversation_id: conversationID });
  }
}
