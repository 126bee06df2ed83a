// Vitest globalSetup for the workerd projects: real HTTP servers for the health-check tests.
// Each path `/<name>` answers as its mode says, and a test flips the mode over HTTP
// (`POST /mode/<name>/<mode>`), so the Worker in workerd reaches them with real fetch:
//   up      200 at once          status  503 at once
//   slow    200 after 2 s        closed  the socket is destroyed unanswered (connection error)
// `checkRefusedUrl` is a port nothing listens on (connection refused).
import { createServer, type Server } from "node:http";
import type { TestProject } from "vitest/node";
import { freePort } from "../../tools/free-port.ts";
import "./provided-context.ts";

type Mode = "up" | "status" | "slow" | "closed";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const modes = new Map<string, Mode>();
  const server: Server = createServer((req, res) => {
    const control = /^\/mode\/([\w-]+)\/(up|status|slow|closed)$/.exec(req.url ?? "");
    if (req.method === "POST" && control) {
      modes.set(control[1]!, control[2] as Mode);
      res.writeHead(204).end();
      return;
    }
    const mode = modes.get((req.url ?? "/").slice(1)) ?? "up";
    if (mode === "closed") return void req.socket.destroy();
    if (mode === "status") return void res.writeHead(503, { "Content-Type": "text/plain" }).end("unavailable");
    const answer = () => res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    if (mode === "slow") setTimeout(answer, 2000).unref();
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  project.provide("checkServerUrl", `http://127.0.0.1:${port}`);
  project.provide("checkRefusedUrl", `http://127.0.0.1:${await freePort()}/`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
