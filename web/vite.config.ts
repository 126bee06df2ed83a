// The dashboard client. `npm run dev` (scripts/dev.ts) runs this with API_ORIGIN pointing at
// `wrangler dev`; the client only ever uses relative /api URLs, proxied here in development
// and forwarded by the Pages Function (functions/api/[[path]].ts) in production.
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

const apiOrigin = process.env.API_ORIGIN ?? "http://127.0.0.1:8787";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Keep Vite's dependency cache with the repository's node_modules, not in web/.
  cacheDir: fileURLToPath(new URL("../node_modules/.vite/web", import.meta.url)),
  plugins: [vue()],
  define: {
    // Composition API only: leaves the Options API out of the bundle.
    __VUE_OPTIONS_API__: "false",
    __VUE_PROD_DEVTOOLS__: "false",
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
  },
  server: {
    // scripts/dev.ts waits for 127.0.0.1; `localhost` resolves there too.
    host: "127.0.0.1",
    proxy: {
      "/api": {
        target: apiOrigin,
        // Older Vite proxies did not tell the upstream when the browser went away (vite#12157),
        // so an SSE stream stayed open on the Worker after its page closed. Vite 8's proxy does
        // this itself; cutting the upstream here as well keeps that true whatever the Vite
        // version (test/browser checks it with the Worker's stats).
        configure: (proxy) => {
          proxy.on("proxyReq", (proxyReq, _req, res) => {
            res.on("close", () => {
              if (!proxyReq.destroyed) proxyReq.destroy();
            });
          });
          // The other direction: when the Worker goes away mid-stream (wrangler dev restarting or
          // reloading after an edit), the proxy would leave the browser's response open and
          // silent, and the page would look live while nothing arrives. Cut it, so the
          // EventSource notices and reconnects.
          proxy.on("proxyRes", (proxyRes, _req, res) => {
            proxyRes.on("close", () => {
              if (!proxyRes.complete && !res.writableEnded) res.destroy();
            });
          });
        },
      },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The lazy panels' chunks are preloaded with <link rel=modulepreload>; a browser without it
    // (Safari before 17) still loads them through import(), only without the head start.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    // Everything but the lazy panels (App.vue's defineAsyncComponent) and uPlot (usePlot's
    // import) in the entry chunk: left to itself, Rolldown puts what the entry shares with them
    // (Vue, lib/metrics.ts) in a chunk of its own, one more request and 1.5 kB more gzip, since
    // the two compress apart. Split metrics' chart and legend (SplitChart, SeriesLegend,
    // lib/series-colours) load with the first dashboard that has one.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              name: "app",
              test: (id: string) =>
                !/components\/(LogPanel|HealthPanel|HistoryChart|SplitChart|SeriesLegend)\.vue|lib\/series-colours|node_modules\/uplot\//.test(
                  id,
                ),
            },
          ],
        },
      },
    },
  },
});
