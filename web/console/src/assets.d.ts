// esbuild bundles imported CSS into assets/[name]-[hash].css. TypeScript 7 checks side-effect imports
// (noUncheckedSideEffectImports is on by default), so it must be told such modules exist.
declare module "*.css";
