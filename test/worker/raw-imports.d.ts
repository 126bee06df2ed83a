// Vite's `?raw` imports (a file's text), as test/worker/shipped-config.ts uses them.
declare module "*?raw" {
  const text: string;
  export default text;
}
