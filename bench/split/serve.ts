// `node bench/split/serve.ts <role> <port> <registry dir> <persist dir> <inspector port|off> <vars JSON>`:
// one wrangler dev session through wrangler's API (unstable_startWorker), which, unlike the
// CLI, can run without the inspector (InspectorSink::onAfter is ≈ 13 % of workerd's CPU under
// load). "object" serves the repository's wrangler.toml (the Durable Objects; it also has the
// Worker, unused); "edge" serves bench/split/edge.wrangler.toml (the Worker, with its object
// bindings resolved through the dev registry in <registry dir>). With relays, a third session
// "relays" serves the relay objects under the name realtime-dashboard-relays, and the object's
// and the edge's RELAY bindings point there ("object+relays", "edge+relays"): the three halves
// of a delivery through a relay, each in its own process. "probe-object" and "probe-edge" serve
// bench/split/probe/ the same way (bench/split/primitives.ts). Prints "ready" when up and stops
// on SIGTERM.
import { unstable_startWorker } from "wrangler";

const [role, port, registry, persist, inspector, varsJson] = process.argv.slice(2);
if (!role || !port || !registry || !persist || !inspector || !varsJson)
  throw new Error("usage: serve.ts <role> <port> <registry> <persist> <inspector port|off> <vars JSON>");
const vars = JSON.parse(varsJson) as Record<string, string>;

const RELAYS_SCRIPT = "realtime-dashboard-relays";
const elsewhere = (class_name: string, script_name: string) => ({ type: "durable_object_namespace", class_name, script_name });
const objectBindings: Record<string, Record<string, unknown>> = {
  object: {},
  edge: {},
  "object+relays": { RELAY: elsewhere("RelayObject", RELAYS_SCRIPT) },
  "edge+relays": { RELAY: elsewhere("RelayObject", RELAYS_SCRIPT) },
  relays: { DASHBOARD: elsewhere("DashboardObject", "realtime-dashboard") },
  "probe-object": {},
  "probe-edge": { PROBE: elsewhere("ProbeObject", "rtd-probe") },
};
if (!(role in objectBindings)) throw new Error(`unknown role ${role}`);

const worker = await unstable_startWorker({
  config: role.startsWith("probe")
    ? "bench/split/probe/wrangler.toml"
    : role.startsWith("edge")
      ? "bench/split/edge.wrangler.toml"
      : "wrangler.toml",
  ...(role === "relays" ? { name: RELAYS_SCRIPT } : role === "probe-edge" ? { name: "rtd-probe-edge" } : {}),
  bindings: {
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: "plain_text", value: v }])),
    ...objectBindings[role],
  },
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
