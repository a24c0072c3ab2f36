// REST calls of the console: JSON in and out, the session cookie sent by the browser, and the CSRF token on
// every state-changing request (docs/api.md).

import { newID } from "../../widget/src/id";

export { newID };

export interface Agent {
  id: string;
  name: string;
  email: string;
  role: string;
  teams: string[];
  presence: string;
  availability: string;
  capacity: number;
  slots_used: number;
}

export interface Conversation {
  id: string;
  status: string;
  team_id?: string;
  agent_id?: string;
  offered_to?: string;
  priority?: number;
  last_seq: number;
  last_message_at: string;
  created_at?: string;
  queued_at?: string;
  customer: { name: string; email?: string };
  agent_read_seq?: number;
  unread: number;
  channel?: string;
}

export interface Message {
  conversation_id: string;
  seq: number;
  id: string;
  sender_type?: string;
  sender_name?: string;
  type?: string;
  body?: string;
  client_msg_id?: string;
  hidden?: boolean;
  meta?: Record<string, string> & { attachment?: { id: string; name: string; size: number; type: string } };
  ts?: string;
}

/** ApiError carries the server's error code (docs/api.md, "Errors"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field = "",
  ) {
    super(message);
  }
}

let csrf = "";

/** setCSRF keeps the token the login or session answer gave. */
export function setCSRF(token: string): void {
  csrf = token;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; field?: string } };
  if (!res.ok) {
    throw new ApiError(res.status, data.error?.code ?? "error", data.error?.message ?? res.statusText, data.error?.field ?? "");
  }
  return data as T;
}

/** upload sends a file into a conversation (multipart); the Idempotency-Key makes a retry send it once. */
export async function upload(conversationID: string, file: File): Promise<void> {
  const form = new FormData();
  form.append("file", file, file.name);
  const res = await fetch(`/api/v1/conversations/${conversationID}/attachments`, {
    method: "POST",
    body: form,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf, "Idempotency-Key": newID() },
  });
  if (!res.ok) {
    const data = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(res.status, data.error?.code ?? "error", data.error?.message ?? res.statusText);
  }
}

export interface SessionAnswer {
  csrf_token: string;
  agent: Agent;
}
