// The inbox's lists: which views exist, the filters that narrow them (on the server: docs/api.md, "Routing"),
// and the key under which the console keeps each list it shows.

export type View = "mine" | "queue" | "team" | "all";

/** Filters narrow a view; "" is "any" (for status: the open conversations). */
export interface Filters {
  status: string;
  team: string;
  channel: string;
}

export const noFilters: Filters = { status: "", team: "", channel: "" };

/** viewStatuses are the states each view can be narrowed to, as the server accepts them. */
export const viewStatuses: Record<View, string[]> = {
  mine: ["assigned", "offered"],
  queue: ["queued", "offered", "pending"],
  team: ["queued", "offered", "pending", "assigned", "closed"],
  all: ["queued", "offered", "pending", "assigned", "closed"],
};

export const channels = ["web", "app", "wechat"];

/** PAGE is the server's page size: a list this long may have more behind it. */
export const PAGE = 200;

/** listKey names a list: a view with its filters. */
export function listKey(view: View, f: Filters): string {
  return `${view}|${f.status}|${f.team}|${f.channel}`;
}

/** inboxPath is the request for a page of a list; before is the last entry of the previous page. */
export function inboxPath(view: View, f: Filters, before?: { last_message_at: string; id: string }): string {
  const q = new URLSearchParams({ view });
  if (f.status) q.set("status", f.status);
  if (f.team) q.set("team", f.team);
  if (f.channel) q.set("channel", f.channel);
  if (before) q.set("before", `${Date.parse(before.last_message_at)}:${before.id}`);
  return `/api/v1/inbox?${q}`;
}
