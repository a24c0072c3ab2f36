// The standalone chat page (/chat/{site}): the same panel as the widget, full-page, for links in e-mails,
// QR codes and app web views. It is served by Parley itself under a strict CSP (no inline script), so the
// site key comes from the page's own path and the server root from this script's URL.

import { pickLang, strings } from "./i18n";
import { mount } from "./panel";

function start(): void {
  const parts = location.pathname.split("/").filter(Boolean);
  const site = decodeURIComponent(parts[parts.length - 1] ?? "");
  // Module scripts have no document.currentScript; find ours by its path to resolve the server root.
  const me = document.querySelector<HTMLScriptElement>('script[src*="/widget/page-"]');
  const base = new URL("../", me?.src ?? location.href).href;
  document.body.style.margin = "0";
  document.body.style.background = "#f3f4f6";
  const host = document.createElement("parley-chat");
  const root = host.attachShadow({ mode: "closed" });
  document.body.append(host);
  const lang = new URLSearchParams(location.search).get("lang") ?? undefined;
  document.title = strings(pickLang(undefined, lang)).title;
  mount(root, { site, base, mode: "page", lang });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
