// The REST side of the protocol: JSON requests to the Parley server with the visitor token as a Bearer
// credential (never a cookie, never in a URL), and the wire types the panel reads.

/** A message as delivered (protocol.Message). A hidden entry carries only its seq. */
export interface WireMessage {
  conversation_id: string;
  seq: number;
  id?: string;
  sender_type?: string;
  sender_id?: string;
  sender_name?: string;
  type?: string;
  body?: string;
  client_msg_id?: string;
  meta?: Record<string, unknown>;
  ts?: string;
  hidden?: boolean;
}

/** Every frame the server sends (protocol.ServerFrame); type says which fields are set. */
export interface ServerFrame {
  type: string;
  ref?: string;
  epoch?: string;
  conversation_id?: string;
  client_msg_id?: string;
  seq?: number;
  id?: string;
  ts?: string;
  duplicate?: boolean;
  message?: WireMessage;
  recovered?: boolean;
  next_seq?: number;
  reset?: boolean;
  head_seq?: number;
  side?: string;
  name?: string;
  heads?: Record<string, number>;
  heartbeat_s?: number;
  code?: string;
  error?: string;
  // Frames that later protocol versions add (queue position, assignment) arrive with their own fields.
  [extra: string]: unknown;
}

export interface Conversation {
  id: string;
  status: string;
  agent_id?: string;
  team_id?: string;
  last_seq: number;
  customer_read_seq: number;
  agent_read_seq: number;
  epoch: string;
  created?: boolean;
}

export interface PreChat {
  enabled?: boolean;
  fields?: { name: string; required?: boolean }[];
  departments?: { team_id: string; name: string }[];
}

export interface SiteSettings {
  color?: string;
  greeting?: string;
  position?: string;
  language?: string;
  pre_chat?: PreChat;
}

export interface VisitorSession {
  token: string;
  customer: { id: string; name: string; email?: string; phone?: string };
  site: { id: string; name: string; settings: SiteSettings };
  epoch: string;
}

export interface HistoryPage {
  messages: WireMessage[];
  epoch: string;
  head_seq: number;
}

export interface PollAnswer {
  epoch: string;
  messages: WireMessage[];
  heads?: Record<string, number>;
  reset?: string[];
  receipts?: { conversation_id: string; customer_read_seq: number; agent_read_seq: number }[];
  /** A waiting conversation's place in the queue: frames of type "queue". */
  queue?: ServerFrame[];
  typing?: ServerFrame[];
}

/** ApiError is a refused or failed request. status 0 means no answer at all: offline, or refused by CORS. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  token = "";

  /** base is the Parley server's root URL, ending with "/". */
  constructor(readonly base: string) {}

  url(path: string): string {
    return new URL(path, this.base).href;
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h["Authorization"] = "Bearer " + this.token;
    let payload: BodyInit | undefined;
    if (body instanceof FormData || body instanceof Blob) payload = body;
    else if (body !== undefined) {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      // No cookies ever: the widget runs on other sites' pages and authenticates with its token only.
      res = await fetch(this.url(path), { method, headers: h, body: payload, credentials: "omit", mode: "cors", cache: "no-store", signal: signal ?? null });
    } catch (e) {
      throw new ApiError(0, "network", String(e));
    }
    if (!res.ok) {
      let code = "",
        msg = res.statusText;
      try {
        const j = (await res.json()) as { error?: { code?: string; message?: string } };
        code = j.error?.code ?? "";
        msg = j.error?.message ?? msg;
      } catch {
        // not our error shape (a proxy's page): keep the status text
      }
      throw new ApiError(res.status, code, msg);
    }
    if (res.status === 204) return undefined as T;
    const ct = res.headers.get("Content-Type") ?? "";
    return (ct.includes("json") ? await res.json() : await res.blob()) as T;
  }
}
