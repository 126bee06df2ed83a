// Vitest globalSetup for the workers-access project: a local HTTP server playing Cloudflare
// Access's `<team>/cdn-cgi/access/certs`, whose URL is the project's ACCESS_TEAM_DOMAIN. The tests
// sign tokens with jose and publish the public keys here (`PUT /keys`, a JWK set); the server
// counts how often the Worker fetched the keys (`GET /fetches` → { count, lastAt }).
import { createServer } from "node:http";
import type { TestProject } from "vitest/node";
import "./provided-context.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let jwks = JSON.stringify({ keys: [] });
  let fetches = { count: 0, lastAt: 0 };
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/cdn-cgi/access/certs") {
      fetches = { count: fetches.count + 1, lastAt: Date.now() };
      return void res.writeHead(200, { "Content-Type": "application/json" }).end(jwks);
    }
    if (req.method === "GET" && req.url === "/fetches") {
      return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(fetches));
    }
    if (req.method === "PUT" && req.url === "/keys") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk));
      req.on("end", () => {
        jwks = body;
        res.writeHead(204).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  project.provide("accessTeamDomain", `http://127.0.0.1:${port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
