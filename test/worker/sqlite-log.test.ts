import { runInDurableObject } from "cloudflare:test";
import { describe } from "vitest";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";
import { SqliteEventLog } from "../../durable-objects/event-log/sqlite-log.ts";
import { eventLogConformance } from "./event-log-conformance.ts";
import { stub } from "./helpers.ts";

let n = 0;

describe("SQLite event log (Durable Object storage)", () => {
  // Each case gets a fresh object; calls run inside it, where its storage lives.
  eventLogConformance(async () => {
    const target = stub(`sqlite-log-${++n}`);
    const call = <T>(fn: (log: SqliteEventLog) => Promise<T>) =>
      runInDurableObject(target, (_obj, state) => fn(new SqliteEventLog(state.storage.sql)));
    return {
      backend: "durable-object-sqlite",
      inObjectStorage: true,
      append: (entries) => call((log) => log.append(entries)),
      readAfter: (id, limit) => call((log) => log.readAfter(id, limit)),
      readSince: (ms, limit) => call((log) => log.readSince(ms, limit)),
      readBefore: (id, limit) => call((log) => log.readBefore(id, limit)),
      lastId: () => call((log) => log.lastId()),
      trimmedThrough: () => call((log) => log.trimmedThrough()),
      trim: (ms) => call((log) => log.trim(ms)),
    } satisfies EventLog;
  });
});
