// The console's live connection: one WebSocket authenticated by the session cookie, resubscribed with the
// last positions after every reconnect (jittered backoff), so a dropped connection, a sleeping laptop or a
// server restart leaves nothing stale. Sends carry a client message id and are resent with the same id until
// acknowledged (docs/protocol.md).

import type { Message } from "./api";

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
  private positions = new Map<string, { stream: boolean; last: number }>();
  private pending = new Map<string, Pending>();
  private stopped = false;

  constructor(
    private readonly onFrame: (f: Frame) => void,
    private readonly onState: (connected: boolean) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }

  private connect(): void {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws";
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (ev) => {
      let f: Frame;
      try {
        f = JSON.parse(String(ev.data)) as Frame;
      } catch {
        return;
      }
      if (f.type === "hello") {
        this.backoff = 500;
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
        this.advance(f.event.stream, f.event.seq);
      }
      this.onFrame(f);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.onState(false);
      if (this.stopped) return;
      // Full jitter: a server restart does not bring every console back at the same instant.
      const wait = Math.random() * this.backoff;
      this.backoff = Math.min(this.backoff * 2, 15000);
      setTimeout(() => this.connect(), wait);
    };
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
    const subs = [...this.positions].map(([key, p]) =>
      p.stream ? { stream: key, last_seq: p.last } : { conversation_id: key, last_seq: p.last },
    );
    for (let i = 0; i < subs.length; i += 100) this.write({ type: "subscribe", subscriptions: subs.slice(i, i + 100) });
  }

  /** follow subscribes to a conversation or a stream from a position (kept across reconnects). */
  follow(key: string, stream: boolean, last: number): void {
    const cur = this.positions.get(key);
    if (cur && cur.last >= last) return;
    this.positions.set(key, { stream, last });
    this.write({ type: "subscribe", subscriptions: [stream ? { stream: key, last_seq: last } : { conversation_id: key, last_seq: last }] });
  }

  /** position is the last seq seen of a key. */
  position(key: string): number {
    return this.positions.get(key)?.last ?? 0;
  }

  /** send stores a message; the promise resolves on its acknowledgement (resent after reconnects). */
  send(conversationID: string, body: string, msgType: "text" | "note"): Promise<void> {
    const id = crypto.randomUUID();
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
