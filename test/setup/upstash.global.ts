// Vitest globalSetup for the `workers-upstash` project: starts the Upstash REST bridge over the
// real redis-server at 127.0.0.1:6379 (failing with what to install when redis is not there),
// plus deliberately broken endpoints for the error tests, and provides their URLs. The Worker
// under test reaches them over HTTP, as it reaches Upstash in production. Keys live under a
// prefix unique to this run and are deleted at the end.
import { createRequire } from "node:module";
import type { TestProject } from "vitest/node";
import type * as UpstashServers from "./upstash-servers.ts";
import type { UpstashTestServers } from "./upstash-servers.ts";
import "./provided-context.ts";

// This file is loaded through the project's Vite pipeline, whose Workers resolution cannot load
// ioredis; the servers are Node code, so Node loads them itself (require of an ES module).
const nodeRequire = createRequire(import.meta.url);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { startUpstashTestServers } = nodeRequire("./upstash-servers.ts") as typeof UpstashServers;
  const servers: UpstashTestServers = await startUpstashTestServers();
  for (const [key, value] of Object.entries(servers.provided)) {
    project.provide(key as keyof UpstashTestServers["provided"], value);
  }
  return () => servers.close();
}
