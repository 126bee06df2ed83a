// `node bench/split/serve.ts <object|edge> <port> <registry dir> <persist dir> <inspector port|off> <vars JSON>`:
// one wrangler dev session through wrangler's API (unstable_startWorker), which, unlike the
// CLI, can run without the inspector (InspectorSink::onAfter is ≈ 13 % of workerd's CPU under
// load). "object" serves the repository's wrangler.toml (the Durable Objects; it also has the
// Worker, unused); "edge" serves bench/split/edge.wrangler.toml (the Worker, with its object
// bindings resolved through the dev registry in <registry dir>). Prints "ready" when up and
// stops on SIGTERM.
import { unstable_startWorker } from "wrangler";

const [role, port, registry, persist, inspector, varsJson] = process.argv.slice(2);
if (!role || !port || !registry || !persist || !inspector || !varsJson) throw new Error("usage: serve.ts <object|edge> <port> <registry> <persist> <inspector port|off> <vars JSON>");
const vars = JSON.parse(varsJson) as Record<string, string>;

const worker = await unstable_startWorker({
  config: role === "edge" ? "bench/split/edge.wrangler.toml" : "wrangler.toml",
  bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: "plain_text", value: v }])),
  dev: {
    server: { hostname: "127.0.0.1", port: Number(port) },
    inspector: inspector === "off" ? false : { hostname: "127.0.0.1", port: Number(inspector) },
    persist,
    registry,
    watch: false,
    logLevel: "warn",
  },
} as never);
await worker.ready;
console.log("ready");
process.on("SIGTERM", () => void worker.dispose().finally(() => process.exit(0)));
