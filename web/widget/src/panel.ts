// The chat panel: loaded by the loader on the first click, as an ES module chunk with a hashed name
// (served immutable). This is a placeholder; the real conversation UI replaces its body.

import { adoptStyles, icon, isChinese } from "./dom";

/** What the loader passes to mount. */
export interface PanelOptions {
  /** The site key from the host page's data-site attribute. */
  site: string;
  /** Absolute URL of the Parley server's root as seen by the loader (ends with "/"); API calls go there. */
  base: string;
}

/** What mount returns: the loader only toggles the panel. */
export interface Panel {
  toggle(): void;
}

const css = `
.panel { position: absolute; right: 0; bottom: 64px; width: 320px; max-width: calc(100vw - 40px);
  height: 420px; max-height: calc(100vh - 120px); display: flex; flex-direction: column;
  background: #fff; color: #1f2937; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.2);
  font: 14px/1.5 system-ui, sans-serif; overflow: hidden; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px;
  background: #2563eb; color: #fff; font-weight: 600; }
header button { all: unset; cursor: pointer; width: 24px; height: 24px; }
header svg { width: 24px; height: 24px; fill: currentColor; }
p { margin: 16px; }
`;

const closeIcon =
  "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";

/** mount builds the (hidden) panel inside the loader's closed shadow root. */
export function mount(root: ShadowRoot, opts: PanelOptions): Panel {
  const zh = isChinese();
  adoptStyles(root, css);

  const panel = document.createElement("section");
  panel.className = "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Parley");
  panel.dataset["site"] = opts.site;

  const header = document.createElement("header");
  const title = document.createElement("span");
  title.textContent = zh ? "在线客服" : "Chat with us";
  const close = document.createElement("button");
  close.setAttribute("aria-label", zh ? "关闭" : "Close");
  close.append(icon(closeIcon));
  close.addEventListener("click", () => {
    panel.hidden = true;
  });
  header.append(title, close);

  const body = document.createElement("p");
  body.textContent = zh ? "在线聊天即将上线。" : "Live chat is coming soon.";

  panel.append(header, body);
  root.append(panel);
  return {
    toggle() {
      panel.hidden = !panel.hidden;
    },
  };
}
