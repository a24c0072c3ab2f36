// The real-time connection: a WebSocket first, long-polling when a WebSocket cannot be opened, reconnecting
// with jittered exponential backoff. It turns both transports into one stream of server frames, so the
// session above it applies the same delivery rules whichever is in use (the server gives both the same
// semantics: dense seqs, cursors, heads).

import { Api, ApiError, type PollAnswer, type ServerFrame } from "./api";

/** Cursor is the position in the conversation the session follows. */
export interface Cursor {
  conversation_id: string;
  epoch: string;
  last_seq: number;
}

export interface ConnOptions {
  api: Api;
  site: string;
  /** the current subscription, or undefined before a conversation exists */
  cursor(): Cursor | undefined;
  frame(f: ServerFrame): void;
  /** a connection was (re)established and authenticated: resubscribe and resend */
  opened(): void;
  state(online: boolean): void;
  /** the token was refused: the session must start again */
  unauthorized(): void;
}

export type Mode = "ws" | "poll";

const minBackoff = 300;
const maxBackoff = 30_000;
// A WebSocket that never opens this many times in a row while the browser says it is online is taken to be
// blocked (a proxy, a firewall): the connection falls back to long-polling.
const wsFailuresBeforePoll = 2;

export class Connection {
  mode: Mode = "ws";
  online = false;
  private ws: WebSocket | undefined;
  private attempt = 0;
  private wsFailures = 0;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private heartbeatMs = 25_000;
  private pollAbort: AbortController | undefined;
  private pollKick: (() => void) | undefined;
  private polling = false;

  constructor(private o: ConnOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    this.drop();
  }

  /** send writes a frame on the WebSocket; false when there is no open one (the caller retries later). */
  send(f: Record<string, unknown>): boolean {
    if (this.mode !== "ws" || !this.online || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(f));
    return true;
  }

  /** kick wakes a long-poll that waits for a conversation to follow, or restarts one for a new cursor. */
  kick(): void {
    if (this.mode !== "poll") return;
    if (this.pollKick) this.pollKick();
    else this.pollAbort?.abort();
  }

  private onOnline = (): void => {
    // The network is back: try at once, without waiting out the backoff.
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    if (!this.online && !this.ws && !this.polling) this.connect();
  };

  private onOffline = (): void => {
    // The browser knows the network is gone: stop pretending, so what the customer types is queued visibly.
    this.drop();
    this.setOnline(false);
  };

  private drop(): void {
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
    this.pollAbort?.abort();
    this.pollKick?.();
  }

  private setOnline(v: boolean): void {
    if (this.online === v) return;
    this.online = v;
    this.o.state(v);
  }

  private connect(): void {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setOnline(false);
      return; // the online event reconnects
    }
    if (this.mode === "ws") this.openWS();
    else void this.pollLoop();
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    // Full jitter: a random wait up to the exponential ceiling, so clients dropped together do not return
    // together.
    const ceil = Math.min(maxBackoff, minBackoff * 2 ** Math.min(this.attempt, 16));
    const wait = Math.max(minBackoff / 2, Math.random() * ceil);
    this.attempt++;
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  private openWS(): void {
    const u = new URL("api/v1/ws", this.o.api.base);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("site", this.o.site);
    let ws: WebSocket;
    try {
      ws = new WebSocket(u.href);
    } catch {
      this.wsFailed();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ type: "auth", token: this.o.api.token }));
    };
    ws.onmessage = (ev: MessageEvent) => {
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      this.feedWatchdog();
      if (f.type === "hello") {
        this.attempt = 0;
        this.wsFailures = 0;
        if (f.heartbeat_s) this.heartbeatMs = f.heartbeat_s * 1000;
        this.feedWatchdog();
        this.setOnline(true);
        this.o.opened();
        return;
      }
      this.o.frame(f);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.watchdog);
      this.setOnline(false);
      if (ev.code === 4001 || ev.code === 4009) {
        // The token is no longer valid (expired, revoked, erased): the session starts a new one.
        this.o.unauthorized();
        return;
      }
      if (!opened) this.wsFailed();
      else this.retry();
    };
  }

  private wsFailed(): void {
    if (navigator.onLine) this.wsFailures++;
    if (this.wsFailures >= wsFailuresBeforePoll) {
      this.mode = "poll";
      this.attempt = 0;
      this.connect();
      return;
    }
    this.retry();
  }

  // The server sends a heartbeat frame every heartbeat_s; two missed ones mean a half-open connection that
  // the browser has not noticed: drop it and reconnect.
  private feedWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      const ws = this.ws;
      if (!ws) return;
      this.drop();
      this.setOnline(false);
      this.retry();
    }, this.heartbeatMs * 2 + 10_000);
  }

  private async pollLoop(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let first = true;
    try {
      while (!this.stopped && this.mode === "poll" && navigator.onLine) {
        const cur = this.o.cursor();
        if (!cur) {
          if (first) {
            first = false;
            this.setOnline(true);
            this.o.opened();
          }
          await new Promise<void>((resolve) => (this.pollKick = resolve));
          this.pollKick = undefined;
          continue;
        }
        const ctl = new AbortController();
        this.pollAbort = ctl;
        const timer = setTimeout(() => ctl.abort(), 40_000);
        let ans: PollAnswer;
        try {
          const q = `cursor=${encodeURIComponent(cur.conversation_id + ":" + cur.last_seq)}&timeout=${first ? 0 : 25}` +
            (cur.epoch ? `&epoch=${encodeURIComponent(cur.epoch)}` : "");
          ans = await this.o.api.call<PollAnswer>("GET", "api/v1/poll?" + q, undefined, {}, ctl.signal);
        } catch (e) {
          clearTimeout(timer);
          if (ctl.signal.aborted && !this.stopped && navigator.onLine && this.pollAbort === ctl) {
            continue; // kicked for a new cursor, or our own timeout: poll again at once
          }
          if (e instanceof ApiError && e.status === 401) {
            this.setOnline(false);
            this.o.unauthorized();
            return;
          }
          this.setOnline(false);
          first = true;
          await new Promise((r) => setTimeout(r, Math.max(minBackoff, Math.random() * Math.min(maxBackoff, minBackoff * 2 ** this.attempt++))));
          continue;
        } finally {
          this.pollAbort = undefined;
        }
        clearTimeout(timer);
        this.attempt = 0;
        if (first) {
          first = false;
          this.setOnline(true);
          this.o.opened();
        }
        this.deliverPoll(cur, ans);
      }
    } finally {
      this.polling = false;
      if (!this.stopped && this.mode === "poll" && !navigator.onLine) this.setOnline(false);
    }
  }

  // deliverPoll turns a long-poll answer into the frames a WebSocket would have carried.
  private deliverPoll(cur: Cursor, a: PollAnswer): void {
    const id = cur.conversation_id;
    if (a.reset?.includes(id)) {
      this.o.frame({ type: "resumed", conversation_id: id, reset: true, epoch: a.epoch, head_seq: a.heads?.[id] ?? 0 });
      return;
    }
    for (const m of a.messages) this.o.frame({ type: "message", epoch: a.epoch, message: m });
    for (const r of a.receipts ?? []) {
      if (r.conversation_id !== id) continue;
      this.o.frame({ type: "read", conversation_id: id, side: "agent", seq: r.agent_read_seq });
      this.o.frame({ type: "read", conversation_id: id, side: "customer", seq: r.customer_read_seq });
    }
    for (const t of a.typing ?? []) this.o.frame(t);
    for (const q of a.queue ?? []) this.o.frame(q);
    if (a.heads) this.o.frame({ type: "heartbeat", heads: a.heads });
  }
}
