// Building message content safely: every piece of text from the network becomes a text node; the only
// elements made from it are links, and only for http(s) URLs, which open in a new tab without giving the
// target page a handle on this one. Nothing is ever parsed as HTML.

const urlPattern = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that ends a sentence rather than a URL, ASCII and full-width.
const trailing = /[.,;:!?)\]}'"\u3002\uff0c\uff1b\uff1a\uff01\uff1f\uff09\u3011\u300b\u300d\u300f]+$/;

/** safeLink returns an anchor for href when it is an absolute http(s) URL, else undefined. */
export function safeLink(href: string, text: string = href): HTMLAnchorElement | undefined {
  let u: URL;
  try {
    u = new URL(href);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  const a = document.createElement("a");
  a.href = u.href;
  a.textContent = text;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow ugc";
  return a;
}

/** appendText appends text to parent as text nodes, with http(s) URLs made into safe links. */
export function appendText(parent: HTMLElement, text: string): void {
  let last = 0;
  for (const m of text.matchAll(urlPattern)) {
    let url = m[0];
    const cut = trailing.exec(url);
    if (cut) url = url.slice(0, url.length - cut[0].length);
    const start = m.index ?? 0;
    if (!url || start < last) continue;
    parent.append(text.slice(last, start));
    parent.append(safeLink(url) ?? url);
    last = start + url.length;
  }
  parent.append(text.slice(last));
}

/** el creates an element with a class and optional text (as a text node). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
