// The agent console: a placeholder Preact + signals app that proves the toolchain (TSX, preact, signals,
// CSS bundling, hashed assets) end to end. The real console replaces it.

import { render } from "preact";
import { computed, effect, signal } from "@preact/signals";
import "./main.css";

type Lang = "zh-CN" | "en";

const messages = {
  "zh-CN": { title: "Parley 客服控制台", other: "English" },
  en: { title: "Parley console", other: "中文" },
} satisfies Record<Lang, { title: string; other: string }>;

const lang = signal<Lang>(/^zh\b/i.test(navigator.language) ? "zh-CN" : "en");
const text = computed(() => messages[lang.value]);

// Keep <html lang> in step so screen readers and fonts pick the right language.
effect(() => {
  document.documentElement.lang = lang.value;
});

function App() {
  return (
    <main>
      <h1>{text.value.title}</h1>
      <button type="button" onClick={() => (lang.value = lang.value === "en" ? "zh-CN" : "en")}>
        {text.value.other}
      </button>
    </main>
  );
}

const mountPoint = document.getElementById("app");
if (!mountPoint) throw new Error("index.html has no #app element");
render(<App />, mountPoint);
