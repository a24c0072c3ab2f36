// The inbox's lists: which views exist, the filters that narrow them (on the server: docs/api.md, "Routing"),
// the key under which the console keeps each list it shows, and how one conversation's new state changes a
// list (events are applied to the lists in place; nothing is read again but that conversation).

import type { Conversation } from "./api";

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

/** A list the console keeps: a view with its filters, the pages loaded, whether more may follow. */
export interface List {
  view: View;
  filters: Filters;
  items: Conversation[];
  more: boolean;
}

/** Viewer is what decides which lists a conversation belongs to: the agent, their role and teams. */
export interface Viewer {
  id: string;
  role: string;
  teams: string[];
}

const waiting = ["queued", "offered", "pending"];

/**
 * member reports whether c belongs in l, by the rules the server lists by (store.Inbox): mine holds what is
 * assigned or offered to the viewer; the queue what waits in their teams; team their teams' conversations;
 * all every one. Without a status filter only open conversations are listed.
 */
export function member(l: List, c: Conversation, me: Viewer): boolean {
  const f = l.filters;
  if (f.status ? c.status !== f.status : c.status === "closed") return false;
  if (f.team && c.team_id !== f.team) return false;
  if (f.channel && (c.channel ?? "web") !== f.channel) return false;
  const inMyTeams = !!c.team_id && (me.role !== "agent" || me.teams.includes(c.team_id));
  switch (l.view) {
    case "mine":
      return (c.status === "assigned" && c.agent_id === me.id) || (c.status === "offered" && c.offered_to === me.id);
    case "queue":
      return waiting.includes(c.status) && inMyTeams;
    case "team":
      return inMyTeams;
    case "all":
      return true;
  }
}

const ms = (s: string | undefined) => (s ? Date.parse(s) : 0);

/** compare orders two entries of a view as the server does: the queue in service order, the rest by activity. */
export function compare(v: View, a: Conversation, b: Conversation): number {
  if (v === "queue") {
    return (b.priority ?? 0) - (a.priority ?? 0) || ms(a.queued_at) - ms(b.queued_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }
  return ms(b.last_message_at) - ms(a.last_message_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * place puts the current state of c into l: removed when it no longer belongs, else at its place in the
 * order. An entry that sorts after the last one loaded of a list with more pages is left to those pages
 * (but the last entry, updated where it is, stays).
 * It returns l itself when nothing changed, so a list untouched by an event renders nothing again.
 */
export function place(l: List, c: Conversation, me: Viewer): List {
  const at = l.items.findIndex((x) => x.id === c.id);
  const rest = at < 0 ? l.items : [...l.items.slice(0, at), ...l.items.slice(at + 1)];
  if (!member(l, c, me)) return at < 0 ? l : { ...l, items: rest };
  let lo = 0;
  let hi = rest.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(l.view, rest[mid]!, c) <= 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo === rest.length && l.more) {
    // c sorts after every other entry loaded: it may belong to a page not loaded yet. The last entry itself
    // stays there unless it moved later (placing each entry of a page in turn must not eat the list's end).
    const was = at >= 0 ? l.items[at] : undefined;
    if (!(at === rest.length && was && compare(l.view, c, was) <= 0)) return at < 0 ? l : { ...l, items: rest };
  }
  if (lo === at && l.items[at] === c) return l;
  return { ...l, items: [...rest.slice(0, lo), c, ...rest.slice(lo)] };
}

/** without returns l without the conversation id (l itself when it holds none). */
export function without(l: List, id: string): List {
  const at = l.items.findIndex((x) => x.id === id);
  return at < 0 ? l : { ...l, items: [...l.items.slice(0, at), ...l.items.slice(at + 1)] };
}
