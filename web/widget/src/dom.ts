// Small DOM helpers shared by the loader and the panel. Both bundles inline their own copy, which is fine
// at this size and keeps the loader free of any runtime import.

// adoptStyles gives a shadow root its CSS. Constructable style sheets come first because a host page's CSP
// without 'unsafe-inline' in style-src blocks <style> elements (also inside shadow roots) but not adopted
// sheets; browsers older than that (Safari < 16.4) fall back to a <style> element.
export function adoptStyles(root: ShadowRoot, css: string): void {
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    return;
  }
  const style = document.createElement("style");
  style.textContent = css;
  root.append(style);
}

// icon builds an inline SVG from one path. Built with createElementNS rather than innerHTML so that host
// pages enforcing Trusted Types still work, and SVG rather than an emoji because not every machine has an
// emoji font.
export function icon(d: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

// isChinese decides the launcher's language before the panel (which has the full rules, i18n.ts) loads:
// the site's or page's choice when given, else the browser's.
export function isChinese(forced?: string): boolean {
  return /^zh\b/i.test(forced || navigator.language);
}
