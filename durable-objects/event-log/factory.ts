// Chooses the event log from configuration: Upstash Redis Streams when credentials are set,
// otherwise the Durable Object's own SQLite storage (zero-config local runs).
import type { Config } from "../../core/config/index.ts";
import type { Sql } from "../storage/meter.ts";
import type { EventLog } from "./event-log.ts";
import { SqliteEventLog } from "./sqlite-log.ts";
import { UpstashEventLog } from "./upstash-log.ts";

export interface LogContext {
  /** The dashboard id (the Durable Object's name). */
  dashboard: string;
  sql: Sql;
}

export function createEventLog(config: Config, { dashboard, sql }: LogContext): EventLog {
  if (config.upstash) {
    return new UpstashEventLog(config.upstash, dashboard, config.retentionSeconds);
  }
  return new SqliteEventLog(sql, config.maxLogBytes);
}
