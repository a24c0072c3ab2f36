// The widget loader: the one file host pages reference by a stable URL,
//
//   <script src="https://parley.example.com/widget.js" data-site="SITE_KEY" async></script>
//
// It must stay tiny (a gzip budget is tested in web/) because every page view of every host site downloads
// it: it only draws the launcher button and loads the panel chunk on the first click.

import type { Panel, PanelOptions } from "./panel";
import { adoptStyles, icon, isChinese } from "./dom";

// Path of the hashed panel chunk relative to this script, e.g. "widget/panel-AB12CD34.js". web/build
// bundles the panel first and injects its name here with esbuild's define.
declare const __PARLEY_PANEL__: string;

type PanelModule = { mount(root: ShadowRoot, opts: PanelOptions): Panel };

const css = `
:host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483647; }
.launcher { all: unset; position: relative; box-sizing: border-box; cursor: pointer; width: 56px; height: 56px;
  border-radius: 50%; display: flex; align-items: center; justify-content: center; background: var(--pa, #2563eb);
  color: var(--pa-fg, #fff); box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.launcher:focus-visible { outline: 3px solid #93c5fd; outline-offset: 2px; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
`;

// What the panel remembered of this site in localStorage (see session.ts): the launcher's colour and side,
// and whether the panel was open, so a reload looks the same before the panel has loaded.
interface Remembered {
  open?: boolean;
  look?: { color?: string; position?: string; language?: string };
}

function remembered(site: string): Remembered {
  try {
    return (JSON.parse(localStorage.getItem("parley:v1:" + site) ?? "null") as Remembered | null) ?? {};
  } catch {
    return {};
  }
}

// lookCSS turns the remembered colour and side into :host rules; the colour is validated first.
function lookCSS(r: Remembered): string {
  const c = r.look?.color ?? "";
  let rules = "";
  if (/^#[0-9a-f]{6}$/i.test(c)) {
    const n = parseInt(c.slice(1), 16);
    const light = ((n >> 16) & 255) * 0.299 + ((n >> 8) & 255) * 0.587 + (n & 255) * 0.114 > 160;
    rules += `--pa: ${c}; --pa-fg: ${light ? "#111827" : "#fff"};`;
  }
  if (r.look?.position === "left") rules += "left: 20px; right: auto;";
  return rules ? `:host { ${rules} }` : "";
}

const chatIcon =
  "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";

// document.currentScript is only set while this file's top level runs, so it is read right away. The
// fallback covers a loader evaluated some other way (then currentScript is null).
const script =
  (document.currentScript as HTMLScriptElement | null) ??
  document.querySelector<HTMLScriptElement>('script[src*="widget.js"][data-site]');

function start(script: HTMLScriptElement): void {
  const site = script.dataset["site"];
  if (!site) {
    console.warn("Parley: the widget <script> needs a data-site attribute");
    return;
  }
  // A page that includes the snippet twice gets one launcher.
  if (document.querySelector("parley-widget")) return;

  // Resolve against the script's own URL, not the page's: the panel must come from the Parley server that
  // served this file, also when that server sits under a path prefix behind a proxy.
  const panelURL = new URL(__PARLEY_PANEL__, script.src).href;
  const base = new URL("./", script.src).href;

  // A custom element name keeps host page rules for div/button off the host, and a CLOSED shadow root keeps
  // the page's scripts and styles out of the widget.
  const host = document.createElement("parley-widget");
  const root = host.attachShadow({ mode: "closed" });
  const mem = remembered(site);
  adoptStyles(root, css + lookCSS(mem));

  const button = document.createElement("button");
  button.className = "launcher";
  button.setAttribute("aria-label", isChinese(mem.look?.language || script.dataset["lang"]) ? "在线客服" : "Chat with us");
  button.setAttribute("aria-haspopup", "dialog");
  button.append(icon(chatIcon));
  root.append(button);

  let panel: Promise<Panel> | undefined;
  const load = (): Promise<Panel> => {
    // Cross-origin import(): the server answers with Access-Control-Allow-Origin (see web.WidgetHandler).
    if (!panel) {
      panel = (import(panelURL) as Promise<PanelModule>).then((m) =>
        m.mount(root, { site, base, launcher: button, lang: script.dataset["lang"], mode: "widget" }),
      );
      panel.catch((err: unknown) => {
        panel = undefined; // let the next click retry, e.g. after a network error
        console.error("Parley: could not load the chat panel", err);
      });
    }
    return panel;
  };
  button.addEventListener("click", () => {
    load().then(
      (p) => p.toggle(),
      () => {},
    );
  });
  // A customer who had the chat open before a reload (or in another tab) finds it open again.
  if (mem.open) {
    load().then(
      (p) => p.open(false),
      () => {},
    );
  }

  if (document.body) document.body.append(host);
  else document.addEventListener("DOMContentLoaded", () => document.body.append(host));
}

if (script) start(script);
else console.warn("Parley: widget.js could not find its own <script> element");
