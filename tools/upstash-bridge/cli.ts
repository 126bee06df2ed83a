// Runs the Upstash REST bridge until SIGINT/SIGTERM:
//   node tools/upstash-bridge/cli.ts [--port 8079] [--token dev-token] [--redis redis://127.0.0.1:6379]
import { parseArgs } from "node:util";
import { startUpstashBridge } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8079" },
    host: { type: "string", default: "127.0.0.1" },
    token: { type: "string", default: "dev-token" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: node tools/upstash-bridge/cli.ts [--port 8079] [--host 127.0.0.1] [--token dev-token] [--redis redis://127.0.0.1:6379]",
  );
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  process.exit(2);
}

const bridge = await startUpstashBridge({ port, host: values.host, token: values.token, redisUrl: values.redis });
console.log(`Upstash REST bridge listening on ${bridge.url}, executing on ${values.redis}`);
console.log(`UPSTASH_REDIS_REST_URL=${bridge.url} UPSTASH_REDIS_REST_TOKEN=${values.token}`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, closing the bridge`);
  bridge.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
