// The chat panel: loaded by the loader on the first click (or by the standalone chat page), as an ES module
// chunk with a hashed name (served immutable). Plain TypeScript and DOM: every piece of text from the network
// is set with textContent or appended as a text node; no HTML is ever parsed. It lives in the loader's closed
// shadow root, so neither the host page's scripts nor its styles reach the conversation.

import { adoptStyles, icon } from "./dom";
import type { WireMessage } from "./api";
import { humanSize, pickLang, strings, type Lang, type Strings } from "./i18n";
import { appendText, el } from "./render";
import { Session, type Pending } from "./session";

/** What the loader (or the chat page) passes to mount. */
export interface PanelOptions {
  /** The site key from the host page's data-site attribute. */
  site: string;
  /** Absolute URL of the Parley server's root as seen by the loader (ends with "/"); API calls go there. */
  base: string;
  /** "widget" (a launcher opens and closes the panel) or "page" (the standalone chat page: always open). */
  mode?: "widget" | "page";
  /** The launcher button, which gets the unread badge and focus back when the panel closes. */
  launcher?: HTMLButtonElement;
  /** The page's data-lang attribute, when it has one. */
  lang?: string;
}

/** What mount returns: the loader opens, closes and toggles the panel. */
export interface Panel {
  toggle(): void;
  open(focus?: boolean): void;
  close(): void;
}

const css = `
:host { --pa: #2563eb; --pa-fg: #ffffff; }
[hidden] { display: none !important; }
.wrap { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC", "Hiragino Sans GB",
  "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; color: #111827; }
.panel { position: absolute; right: 0; bottom: 72px; width: 370px; height: min(600px, calc(100vh - 112px));
  max-width: calc(100vw - 40px); display: flex; flex-direction: column; background: #fff; border-radius: 16px;
  box-shadow: 0 12px 40px rgba(0,0,0,.22); overflow: hidden; box-sizing: border-box; }
.left .panel { right: auto; left: 0; }
.panel[hidden] { display: none; }
.page .panel { position: fixed; inset: 0; width: auto; height: auto; max-width: none; border-radius: 0; box-shadow: none; }
@media (min-width: 800px) { .page .panel { inset: 24px calc(50% - 380px); border-radius: 16px; box-shadow: 0 12px 40px rgba(0,0,0,.18); } }
@media (max-width: 480px) {
  .panel { position: fixed; inset: 0; width: auto; height: auto; max-width: none; border-radius: 0; }
  .launcher[aria-expanded="true"] { display: none; }
}
header { display: flex; align-items: center; gap: 4px; padding: 10px 8px 10px 16px; background: var(--pa); color: var(--pa-fg); }
header .t { flex: 1; min-width: 0; }
h2 { margin: 0; font-size: 16px; font-weight: 600; }
.sub { margin: 0; font-size: 12px; opacity: .92; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-height: 17px; }
button { font: inherit; }
.icon { all: unset; box-sizing: border-box; cursor: pointer; width: 36px; height: 36px; border-radius: 8px;
  display: inline-flex; align-items: center; justify-content: center; color: inherit; flex: none; }
.icon:hover { background: rgba(0,0,0,.07); }
header .icon:hover { background: rgba(255,255,255,.2); }
.icon[hidden] { display: none; }
svg { width: 20px; height: 20px; fill: currentColor; }
:focus-visible { outline: 3px solid #93c5fd; outline-offset: 1px; }
.banner { margin: 0; padding: 8px 16px; font-size: 13px; background: #fef3c7; color: #78350f; border-bottom: 1px solid #fde68a; }
.banner.info { background: #eff6ff; color: #1e3a8a; border-color: #bfdbfe; }
.banner[hidden] { display: none; }
.body { flex: 1; min-height: 0; display: flex; flex-direction: column; background: #f9fafb; }
.log { flex: 1; overflow-y: auto; padding: 12px 12px 4px; overscroll-behavior: contain; }
.greet { align-self: flex-start; }
ol { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.msg { display: flex; flex-direction: column; max-width: 82%; }
.me { align-self: flex-end; align-items: flex-end; }
.them { align-self: flex-start; align-items: flex-start; }
.sys { align-self: center; max-width: 92%; text-align: center; color: #4b5563; font-size: 12px; margin: 6px 0; }
.divider { align-self: stretch; text-align: center; color: #6b7280; font-size: 12px; margin: 10px 0; border-top: 1px solid #e5e7eb; padding-top: 6px; }
.who { font-size: 12px; color: #4b5563; margin: 4px 6px 2px; }
.bubble { padding: 8px 12px; border-radius: 16px; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; }
.me .bubble { background: var(--pa); color: var(--pa-fg); border-bottom-right-radius: 4px; }
.them .bubble { background: #fff; border: 1px solid #e5e7eb; border-bottom-left-radius: 4px; }
.bubble a { color: inherit; text-decoration: underline; }
.them .bubble a { color: #1d4ed8; }
.bubble img { display: block; max-width: 220px; max-height: 220px; border-radius: 8px; background: #e5e7eb; min-width: 40px; min-height: 40px; }
.bubble.media { padding: 4px; }
.filebtn { all: unset; cursor: pointer; text-decoration: underline; display: inline-flex; gap: 6px; align-items: center; }
.meta { font-size: 11px; color: #6b7280; margin: 2px 6px; display: flex; gap: 6px; align-items: center; }
.failed .meta { color: #b91c1c; }
.linkbtn { all: unset; cursor: pointer; text-decoration: underline; color: #1d4ed8; }
.typing { min-height: 18px; padding: 2px 16px; font-size: 12px; color: #4b5563; background: #f9fafb; }
.composer { display: flex; align-items: flex-end; gap: 4px; padding: 8px; border-top: 1px solid #e5e7eb; background: #fff; margin: 0; }
.composer[hidden] { display: none; }
textarea, input, select { font: inherit; color: inherit; background: #fff; border: 1px solid #d1d5db; border-radius: 10px; padding: 8px 10px; box-sizing: border-box; }
.composer textarea { flex: 1; resize: none; line-height: 20px; height: 38px; max-height: 120px; }
.send { background: var(--pa); color: var(--pa-fg); }
.send:hover { background: var(--pa); filter: brightness(1.08); }
.center { margin: auto; padding: 24px; text-align: center; color: #4b5563; display: flex; flex-direction: column; gap: 12px; align-items: center; }
.btn { all: unset; box-sizing: border-box; cursor: pointer; background: var(--pa); color: var(--pa-fg); padding: 9px 16px; border-radius: 10px; text-align: center; font-weight: 600; }
.btn.secondary { background: #fff; color: #111827; border: 1px solid #d1d5db; font-weight: 500; }
.btn:disabled { opacity: .6; cursor: default; }
.earlier { align-self: center; margin-bottom: 8px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 12px; padding: 12px; margin: 8px 0; display: flex; flex-direction: column; gap: 8px; }
.card p { margin: 0; }
.stars { display: flex; gap: 2px; }
.stars .icon svg { width: 28px; height: 28px; fill: #d1d5db; }
.stars .icon.on svg { fill: #f59e0b; }
.card textarea { resize: vertical; min-height: 56px; }
.prechat { padding: 16px; display: flex; flex-direction: column; gap: 12px; overflow-y: auto; }
.prechat h3 { margin: 0; font-size: 15px; }
.prechat p { margin: 0; color: #4b5563; }
label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #374151; }
.err { color: #b91c1c; font-size: 12px; }
.err:empty { display: none; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px; box-sizing: border-box;
  border-radius: 10px; background: #dc2626; color: #fff; font: 600 12px/20px system-ui, sans-serif; text-align: center; }
.badge[hidden] { display: none; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

const paths = {
  close: "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z",
  send: "M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
  download: "M5 20h14v-2H5v2zM19 9h-4V3H9v6H5l7 7 7-7z",
  star: "M12 17.3 18.2 21l-1.6-7 5.4-4.7-7.2-.6L12 2 9.2 8.7 2 9.3l5.4 4.7L5.8 21z",
  file: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z",
};

/** accentText picks black or white text for a background colour, by its luminance. */
function accentText(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? "#111827" : "#ffffff";
}

function timeOf(ts: string | number | undefined, lang: Lang): string {
  if (ts === undefined) return "";
  const d = new Date(ts);
  if (isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" });
}

/** mount builds the (hidden) panel inside the shadow root and starts the chat session. */
export function mount(root: ShadowRoot, opts: PanelOptions): Panel {
  const page = opts.mode === "page";
  const session = new Session(opts.base, opts.site);
  const cached = session.load().look ?? {};
  let lang: Lang = pickLang(cached.language, opts.lang);
  let t: Strings = strings(lang);
  adoptStyles(root, css);

  // The look (accent colour, side) comes from the site's settings; it is a sheet of its own so that it can
  // be replaced when the settings arrive. The colour is validated before it goes anywhere near CSS.
  let lookSheet: CSSStyleSheet | HTMLStyleElement | undefined;
  const applyLook = (color?: string, position?: string) => {
    const c = color && /^#[0-9a-f]{6}$/i.test(color) ? color : "#2563eb";
    const rules = `:host { --pa: ${c}; --pa-fg: ${accentText(c)}; ${position === "left" && !page ? "left: 20px; right: auto;" : ""} }`;
    if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
      if (!(lookSheet instanceof CSSStyleSheet)) {
        lookSheet = new CSSStyleSheet();
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, lookSheet];
      }
      lookSheet.replaceSync(rules);
    } else {
      const style: HTMLStyleElement = lookSheet instanceof HTMLStyleElement ? lookSheet : root.appendChild(document.createElement("style"));
      lookSheet = style;
      style.textContent = rules;
    }
    wrap.classList.toggle("left", position === "left");
  };

  const wrap = el("div", page ? "wrap page" : "wrap");
  const panel = el("section", "panel");
  panel.hidden = !page;
  panel.setAttribute("role", page ? "main" : "dialog");
  panel.setAttribute("aria-labelledby", "parley-title");

  // Header: title, who is helping (or the connection state), transcript and close buttons.
  const header = el("header");
  const titles = el("div", "t");
  const title = el("h2");
  title.id = "parley-title";
  const sub = el("p", "sub");
  sub.setAttribute("aria-live", "polite");
  titles.append(title, sub);
  const transcriptBtn = el("button", "icon");
  transcriptBtn.type = "button";
  transcriptBtn.append(icon(paths.download));
  const closeBtn = el("button", "icon");
  closeBtn.type = "button";
  closeBtn.append(icon(paths.close));
  closeBtn.hidden = page;
  header.append(titles, transcriptBtn, closeBtn);

  const banner = el("p", "banner");
  banner.setAttribute("role", "status");
  banner.hidden = true;

  const body = el("div", "body");

  // The conversation: a live log that screen readers announce as messages are added.
  const log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;
  const earlier = el("button", "btn secondary earlier");
  earlier.type = "button";
  const list = el("ol");
  const tail = el("div"); // rating card, "new conversation"
  log.append(earlier, list, tail);

  const typing = el("div", "typing");
  typing.setAttribute("aria-live", "polite");

  const composer = el("form", "composer");
  const fileInput = el("input");
  fileInput.type = "file";
  fileInput.accept = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.txt,.pdf";
  fileInput.hidden = true;
  fileInput.tabIndex = -1;
  const attachBtn = el("button", "icon");
  attachBtn.type = "button";
  attachBtn.append(icon(paths.attach));
  const input = el("textarea");
  input.rows = 1;
  input.maxLength = 4000;
  const sendBtn = el("button", "icon send");
  sendBtn.type = "submit";
  sendBtn.append(icon(paths.send));
  composer.append(fileInput, attachBtn, input, sendBtn);

  panel.append(header, banner, body, typing, composer);
  wrap.append(panel);
  root.append(wrap);

  const badge = el("span", "badge");
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  opts.launcher?.append(badge);
  opts.launcher?.setAttribute("aria-expanded", "false");

  // ---- behaviour ---------------------------------------------------------------------------------------

  const isOpen = () => !panel.hidden;
  const focusFirst = () => {
    const target = body.querySelector<HTMLElement>("input, select, .prechat button") ?? (composer.hidden ? log : input);
    target.focus();
  };
  // Focus moves into the panel when the customer opens it or moves on in it (the form sent), never when it
  // reopens by itself after a reload: that would take the focus away from the host page.
  let focusPending = false;
  const api: Panel = {
    open(focus = true) {
      panel.hidden = false;
      opts.launcher?.setAttribute("aria-expanded", "true");
      session.setOpen(true);
      if (started === undefined) started = session.init();
      focusPending = focus;
      render();
      scrollToEnd();
    },
    close() {
      if (page) return;
      panel.hidden = true;
      opts.launcher?.setAttribute("aria-expanded", "false");
      session.setOpen(false);
      render();
      opts.launcher?.focus();
    },
    toggle() {
      if (isOpen()) api.close();
      else api.open();
    },
  };
  let started: Promise<void> | undefined;

  closeBtn.addEventListener("click", () => api.close());
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !page) {
      e.stopPropagation();
      api.close();
    }
  });
  transcriptBtn.addEventListener("click", () => {
    session.transcript(lang === "zh" ? "zh-CN" : "en").catch(() => {});
  });
  earlier.addEventListener("click", () => {
    const before = log.scrollHeight - log.scrollTop;
    void session.loadEarlier().then(() => {
      log.scrollTop = log.scrollHeight - before;
    });
  });
  attachBtn.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const f = fileInput.files?.[0];
    fileInput.value = "";
    if (f) {
      stick = true;
      void session.upload(f);
    }
  });
  const submit = () => {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    grow();
    stick = true;
    session.send(text);
  };
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
    input.focus();
  });
  input.addEventListener("keydown", (e) => {
    // Enter sends, Shift+Enter is a new line; never while an input method is composing (Chinese input uses
    // Enter to confirm a candidate).
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  // The composer grows with what is typed, up to five lines.
  const grow = () => {
    input.style.height = "";
    if (input.scrollHeight > input.clientHeight + 1) input.style.height = Math.min(120, input.scrollHeight + 2) + "px";
  };
  input.addEventListener("input", () => {
    grow();
    if (input.value) session.typing();
  });
  document.addEventListener("visibilitychange", () => session.markRead());

  // Follow new messages only when the reader is at the end already (or just sent something).
  let stick = true;
  log.addEventListener("scroll", () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  const scrollToEnd = () => {
    log.scrollTop = log.scrollHeight;
  };

  // ---- rendering ---------------------------------------------------------------------------------------

  // Rows are built once per message and kept; a render only reorders them and updates what can change (a
  // message's delivery state).
  interface Row {
    li: HTMLLIElement;
    state?: HTMLElement;
    sig: string;
  }
  let rows = new Map<string, Row>();
  let phaseShown = "";
  let scheduled = false;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      draw();
    });
  };
  session.onChange(render);

  const draw = () => {
    const s = session;
    const look = s.settings;
    if (s.phase !== "loading" && s.phase !== "error") {
      const newLang = pickLang(look.language, opts.lang);
      if (newLang !== lang) {
        lang = newLang;
        t = strings(lang);
        rows = new Map();
        list.textContent = "";
      }
    }
    wrap.lang = lang === "zh" ? "zh-CN" : "en";
    applyLook(look.color ?? cached.color, look.position ?? cached.position);
    title.textContent = t.title;
    closeBtn.setAttribute("aria-label", t.close);
    closeBtn.title = t.close;
    transcriptBtn.setAttribute("aria-label", t.transcript);
    transcriptBtn.title = t.transcript;
    transcriptBtn.hidden = !s.conv || s.lastSeq === 0;
    attachBtn.setAttribute("aria-label", t.attach);
    attachBtn.title = t.attach;
    sendBtn.setAttribute("aria-label", t.send);
    input.setAttribute("aria-label", t.placeholder);
    input.placeholder = t.placeholder;
    log.setAttribute("aria-label", t.title);
    earlier.textContent = s.loadingEarlier ? "…" : t.loadEarlier;
    if (opts.launcher) {
      const n = isOpen() ? 0 : s.unread();
      badge.hidden = n === 0;
      badge.textContent = n > 9 ? "9+" : String(n);
      opts.launcher.setAttribute("aria-label", n ? `${t.launcher} (${t.unread(n)})` : t.launcher);
    }

    // Subtitle and banner: the connection first, then where the conversation stands.
    // "offered": an agent has been asked to take it; for the customer that is still waiting.
    const status = s.conv?.status === "offered" ? "queued" : s.conv?.status;
    sub.textContent = s.phase === "chat" && !s.online ? t.connecting : s.agentName || (status === "queued" ? t.waiting : "");
    let bannerText = "";
    let info = true;
    if (s.phase === "chat" && !s.online && !navigator.onLine) {
      bannerText = t.offline;
      info = false;
    } else if (status === "queued" && s.queue && s.queue.position > 0) {
      bannerText = t.queued(s.queue.position, Math.ceil(s.queue.wait / 60));
    } else if (status === "pending") {
      bannerText = t.leaveMessage;
    }
    banner.hidden = !bannerText;
    banner.textContent = bannerText;
    banner.classList.toggle("info", info);

    if (phaseShown !== s.phase) {
      phaseShown = s.phase;
      body.textContent = "";
      if (s.phase === "loading") body.append(el("div", "center", "…"));
      else if (s.phase === "error") body.append(errorView());
      else if (s.phase === "prechat") body.append(preChatView());
      else body.append(log);
    }
    composer.hidden = s.phase !== "chat";
    if (focusPending && isOpen() && s.phase !== "loading") {
      focusPending = false;
      focusFirst();
    }
    typing.textContent = s.typingNow() ? t.typing(s.typingName || s.agentName) : "";
    if (s.phase !== "chat") return;

    earlier.hidden = !(s.conv && s.lowest > 1);
    const wanted: string[] = [];
    const item = (key: string, make: () => Row, sig: string, update?: (r: Row) => void) => {
      let r = rows.get(key);
      if (!r) {
        r = make();
        rows.set(key, r);
      }
      if (r.sig !== sig) {
        r.sig = sig;
        update?.(r);
      }
      wanted.push(key);
    };
    item("greeting", () => ({ li: messageRow("them greet", "", look.greeting || t.greeting, undefined), sig: "" }), look.greeting || t.greeting, (r) => {
      r.li.querySelector(".bubble")!.textContent = look.greeting || t.greeting;
    });
    if (s.archive.length) {
      for (const m of s.archive) if (!m.hidden) item("a" + m.seq, () => messageItem(m), "");
      item("divider", () => ({ li: el("li", "divider", t.newConversation), sig: "" }), "");
    }
    for (const m of s.sorted()) {
      if (m.hidden) continue;
      const mine = m.sender_type === "customer";
      const sig = mine ? (m.seq <= s.agentRead ? "read" : "sent") : "";
      item("m" + m.seq, () => messageItem(m), sig, (r) => setState(r, sig === "read" ? t.read : t.sent));
    }
    for (const p of s.pending) {
      const ackedSeq = s.acked.get(p.cid);
      const sig = p.state === "failed" ? "failed" : ackedSeq !== undefined ? (ackedSeq <= s.agentRead ? "read" : "sent") : "sending";
      item("p" + p.cid, () => pendingRow(p), sig, (r) => updatePending(r, p, sig));
    }
    // Put the rows in order, dropping those no longer wanted (a pending send that arrived as a message).
    const keep = new Set(wanted);
    for (const [k, r] of rows) {
      if (!keep.has(k)) {
        r.li.remove();
        rows.delete(k);
      }
    }
    let prev: Element | null = null;
    for (const k of wanted) {
      const li = rows.get(k)!.li;
      const next: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
      if (next !== li) list.insertBefore(li, next);
      prev = li;
    }
    drawTail();
    if (stick) scrollToEnd();
  };

  const messageItem = (m: WireMessage): Row => {
    const li = renderMessage(m);
    return { li, state: li.querySelector<HTMLElement>(".state") ?? undefined, sig: "" };
  };
  const setState = (r: Row, text: string) => {
    if (r.state) r.state.textContent = text;
  };

  function messageRow(cls: string, who: string, text: string, ts: string | number | undefined): HTMLLIElement {
    const li = el("li", "msg " + cls);
    if (who) li.append(el("div", "who", who));
    const b = el("div", "bubble");
    appendText(b, text);
    li.append(b);
    if (ts !== undefined) li.append(el("div", "meta"));
    return li;
  }

  // renderMessage builds one message's row. Only text nodes and (http/https) links are made from its content.
  function renderMessage(m: WireMessage): HTMLLIElement {
    if (m.type === "system") return el("li", "msg sys", systemText(m));
    const mine = m.sender_type === "customer";
    const who = mine ? "" : m.sender_name || t.agent;
    const li = el("li", "msg " + (mine ? "me" : "them"));
    if (who) li.append(el("div", "who", who));
    const bubble = el("div", "bubble");
    const att = attachmentOf(m);
    if (att && m.type === "image") {
      bubble.classList.add("media");
      const a = el("a");
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.download = att.name;
      const img = el("img");
      img.alt = att.name;
      img.decoding = "async";
      a.append(img);
      bubble.append(a);
      session.attachmentURL(att.id).then(
        (url) => {
          img.src = url;
          a.href = url;
        },
        () => {
          bubble.classList.remove("media");
          bubble.textContent = att.name;
        },
      );
    } else if (att) {
      const btn = el("button", "filebtn");
      btn.type = "button";
      btn.append(icon(paths.file), att.name + " (" + humanSize(att.size) + ")");
      btn.setAttribute("aria-label", t.download(att.name, humanSize(att.size)));
      btn.addEventListener("click", () => {
        session.attachmentURL(att.id).then((url) => {
          const a = el("a");
          a.href = url;
          a.download = att.name;
          a.click();
        }, () => {});
      });
      bubble.append(btn);
    } else {
      appendText(bubble, m.body ?? "");
    }
    li.append(bubble);
    const meta = el("div", "meta");
    const time = el("time", "", timeOf(m.ts, lang));
    if (m.ts) time.dateTime = m.ts;
    meta.append(time);
    li.append(meta);
    if (mine) meta.append(el("span", "state"));
    return li;
  }

  function attachmentOf(m: WireMessage): { id: string; name: string; size: number; type: string } | undefined {
    const a = m.meta?.["attachment"] as { id?: unknown; name?: unknown; size?: unknown; type?: unknown } | undefined;
    if (!a || typeof a.id !== "string") return undefined;
    return { id: a.id, name: String(a.name ?? "file"), size: Number(a.size ?? 0), type: String(a.type ?? "") };
  }

  // systemText renders a system message in the reader's language from its machine-readable meta, falling
  // back to the server's text for events this version does not know.
  function systemText(m: WireMessage): string {
    const meta = m.meta ?? {};
    const name = typeof meta["name"] === "string" ? meta["name"] : "";
    switch (meta["event"]) {
      case "closed":
        return meta["by"] === "customer" ? t.closedByYou : meta["by"] === "agent" ? t.closedBy(name) : t.closed;
      case "assigned":
        return name ? t.assigned(name) : m.body ?? "";
      case "transferred":
        return name ? t.transferred(name) : m.body ?? "";
      case "reopened":
        return t.reopened;
      case "queued":
        return t.waiting;
      case "pending":
      case "leave_message":
        return t.leaveMessage;
    }
    return m.body ?? "";
  }

  function pendingRow(p: Pending): Row {
    const li = el("li", "msg me");
    const b = el("div", "bubble");
    if (p.kind === "upload") b.textContent = t.uploading(p.body);
    else appendText(b, p.body);
    const meta = el("div", "meta");
    meta.append(el("time", "", timeOf(p.t, lang)));
    const st = el("span", "state");
    meta.append(st);
    li.append(b, meta);
    return { li, state: st, sig: "" };
  }

  function updatePending(r: Row, p: Pending, sig: string) {
    const meta = r.li.querySelector(".meta")!;
    for (const b of meta.querySelectorAll("button")) b.remove();
    r.li.classList.toggle("failed", sig === "failed");
    if (sig === "failed") {
      r.state!.textContent = p.kind === "upload" ? t.uploadFailed(p.error || t.failed) : t.failed;
      if (p.kind === "text") {
        const again = el("button", "linkbtn", t.retry);
        again.type = "button";
        again.addEventListener("click", () => session.retry(p.cid));
        meta.append(again);
      }
      const del = el("button", "linkbtn", t.remove);
      del.type = "button";
      del.addEventListener("click", () => session.discard(p.cid));
      meta.append(del);
      return;
    }
    r.state!.textContent = sig === "read" ? t.read : sig === "sent" ? t.sent : t.sending;
  }

  // drawTail shows, after a closed conversation, the rating card (or the thanks) and "new conversation".
  let tailSig = "";
  function drawTail() {
    const s = session;
    const closed = s.conv?.status === "closed";
    const sig = closed ? "c" + s.conv!.id + ":" + (s.rating === undefined ? "?" : s.rating === null ? "0" : "r") + lang : "";
    if (sig === tailSig) return;
    tailSig = sig;
    tail.textContent = "";
    if (!closed || s.rating === undefined) return;
    const card = el("div", "card");
    if (s.rating === null) {
      card.setAttribute("role", "group");
      const q = el("p", "", t.rateTitle);
      q.id = "parley-rate";
      card.setAttribute("aria-labelledby", q.id);
      const stars = el("div", "stars");
      let score = 0;
      const btns: HTMLButtonElement[] = [];
      for (let i = 1; i <= 5; i++) {
        const b = el("button", "icon");
        b.type = "button";
        b.append(icon(paths.star));
        b.setAttribute("aria-label", t.star(i));
        b.setAttribute("aria-pressed", "false");
        b.dataset["score"] = String(i);
        b.addEventListener("click", () => {
          score = i;
          btns.forEach((x, j) => {
            x.classList.toggle("on", j < i);
            x.setAttribute("aria-pressed", String(j === i - 1));
          });
          send.disabled = false;
        });
        btns.push(b);
        stars.append(b);
      }
      const comment = el("textarea");
      comment.maxLength = 1000;
      comment.setAttribute("aria-label", t.rateComment);
      comment.placeholder = t.rateComment;
      const send = el("button", "btn", t.rateSend);
      send.type = "button";
      send.disabled = true;
      send.addEventListener("click", () => {
        if (!score) return;
        send.disabled = true;
        void session.rate(score, comment.value).then((ok) => {
          if (!ok) send.disabled = false;
        });
      });
      card.append(q, stars, comment, send);
    } else {
      card.append(el("p", "", t.rateThanks));
    }
    const again = el("button", "btn secondary", t.newChat);
    again.type = "button";
    again.addEventListener("click", () => {
      session.newConversation();
      input.focus();
    });
    card.append(again);
    tail.append(card);
  }

  function errorView(): HTMLElement {
    const box = el("div", "center");
    box.setAttribute("role", "alert");
    box.append(el("p", "", t.unavailable));
    if (session.errorMessage) box.append(el("p", "err", session.errorMessage));
    const again = el("button", "btn", t.tryAgain);
    again.type = "button";
    again.addEventListener("click", () => {
      focusPending = true;
      started = session.init();
    });
    box.append(again);
    return box;
  }

  function preChatView(): HTMLElement {
    const pc = session.settings.pre_chat ?? {};
    const form = el("form", "prechat");
    form.noValidate = true;
    form.append(el("h3", "", t.prechatTitle), el("p", "", t.prechatIntro));
    const fields = pc.fields?.length ? pc.fields : [{ name: "name" }, { name: "email" }];
    const inputs: { name: string; input: HTMLInputElement; err: HTMLElement; required: boolean }[] = [];
    const labels: Record<string, string> = { name: t.name, email: t.email, phone: t.phone };
    for (const f of fields) {
      if (!labels[f.name] || inputs.some((x) => x.name === f.name)) continue;
      const label = el("label");
      const inp = el("input");
      inp.name = f.name;
      inp.type = f.name === "email" ? "email" : f.name === "phone" ? "tel" : "text";
      inp.autocomplete = f.name === "name" ? "name" : f.name === "email" ? "email" : "tel";
      inp.maxLength = f.name === "phone" ? 32 : f.name === "email" ? 254 : 100;
      inp.required = !!f.required;
      if (f.required) inp.setAttribute("aria-required", "true");
      const err = el("span", "err");
      err.id = "parley-err-" + f.name;
      inp.setAttribute("aria-describedby", err.id);
      label.append(labels[f.name]! + (f.required ? " *" : t.optional), inp, err);
      form.append(label);
      inputs.push({ name: f.name, input: inp, err, required: !!f.required });
    }
    let dept: HTMLSelectElement | undefined;
    if (pc.departments?.length) {
      const label = el("label");
      dept = el("select");
      dept.name = "department";
      for (const d of pc.departments) {
        const o = el("option", "", d.name);
        o.value = d.team_id;
        dept.append(o);
      }
      label.append(t.department, dept);
      form.append(label);
    }
    const formErr = el("p", "err");
    formErr.setAttribute("role", "alert");
    const go = el("button", "btn", t.start);
    go.type = "submit";
    form.append(formErr, go);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      let bad: HTMLInputElement | undefined;
      const profile: Record<string, string> = {};
      for (const f of inputs) {
        const v = f.input.value.trim();
        let msg = "";
        if (!v && f.required) msg = t.requiredField;
        else if (v && f.name === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) msg = t.badEmail;
        else if (v && f.name === "phone" && !/^[0-9 +()-]{3,32}$/.test(v)) msg = t.badPhone;
        f.err.textContent = msg;
        f.input.setAttribute("aria-invalid", msg ? "true" : "false");
        if (msg && !bad) bad = f.input;
        profile[f.name] = v;
      }
      if (bad) {
        bad.focus();
        return;
      }
      go.disabled = true;
      formErr.textContent = "";
      focusPending = true;
      session.submitPreChat(profile, dept?.value ?? "").catch((err: unknown) => {
        go.disabled = false;
        formErr.textContent = err instanceof Error && err.message ? err.message : t.unavailable;
      });
    });
    return form;
  }

  if (page) api.open();
  else render();
  return api;
}
