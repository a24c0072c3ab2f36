function l(n,o){if("adoptedStyleSheets"in n&&"replaceSync"in CSSStyleSheet.prototype){let e=new CSSStyleSheet;e.replaceSync(o),n.adoptedStyleSheets=[...n.adoptedStyleSheets,e];return}let t=document.createElement("style");t.textContent=o,n.append(t)}function d(n){let o="http://www.w3.org/2000/svg",t=document.createElementNS(o,"svg");t.setAttribute("viewBox","0 0 24 24"),t.setAttribute("aria-hidden","true");let e=document.createElementNS(o,"path");return e.setAttribute("d",n),t.append(e),t}function c(){return/^zh\b/i.test(navigator.language)}var p=`
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
`,h="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";function g(n,o){let t=c();l(n,p);let e=document.createElement("section");e.className="panel",e.hidden=!0,e.setAttribute("role","dialog"),e.setAttribute("aria-label","Parley"),e.dataset.site=o.site;let i=document.createElement("header"),s=document.createElement("span");s.textContent=t?"\u5728\u7EBF\u5BA2\u670D":"Chat with us";let a=document.createElement("button");a.setAttribute("aria-label",t?"\u5173\u95ED":"Close"),a.append(d(h)),a.addEventListener("click",()=>{e.hidden=!0}),i.append(s,a);let r=document.createElement("p");return r.textContent=t?"\u5728\u7EBF\u804A\u5929\u5373\u5C06\u4E0A\u7EBF\u3002":"Live chat is coming soon.",e.append(i,r),n.append(e),{toggle(){e.hidden=!e.hidden}}}export{g as mount};
