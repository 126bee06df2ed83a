// Upstash Redis over its REST API (@upstash/redis), as both runtimes use it: the dashboard
// objects keep their event log there (durable-objects/event-log/upstash-log.ts) and the Worker's
// /api/health pings it. Configured as in production (base64 responses, auto-pipelining), except
// that values come back as stored (no automatic JSON parsing) and every call has a hard
// deadline: the callers retry, so a slow or dead Redis must never stall them.
import { Redis } from "@upstash/redis/cloudflare";

export interface UpstashClientConfig {
  url: string;
  token: string;
  /** Per call, retries included (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 3_000;

/** A failed Upstash call, with a message that says what went wrong (never the payload). */
export class UpstashLogError extends Error {
  override name = "UpstashLogError";
}

export class UpstashClient {
  readonly redis: Redis;
  readonly timeoutMs: number;
  private readonly host: string;
  /** Aborted (and replaced) when a call misses its deadline: in-flight requests stop too. */
  private aborter = new AbortController();

  constructor(config: UpstashClientConfig) {
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.host = safeHost(config.url);
    this.redis = new Redis({
      url: config.url,
      token: config.token,
      // Payloads are JSON text that must come back byte for byte; the client would parse them.
      automaticDeserialization: false,
      // One quick retry for a dropped keep-alive connection; anything longer is the caller's job.
      retry: { retries: 1, backoff: () => 50 },
      // Called once per HTTP request. As a function (not a plain AbortSignal) an abort surfaces
      // as an error: with a plain signal the client turns an abort into a successful "Aborted".
      signal: () => this.aborter.signal,
      enableTelemetry: false,
    });
  }

  /**
   * Runs one request with a hard deadline and turns every failure into a clear message.
   * Deadlines are our own cleared timers, not AbortSignal.timeout(): those keep a timer alive
   * for the full timeout after every request, which holds a Durable Object in memory.
   */
  async call<T>(command: string, run: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new UpstashLogError(`Upstash: timeout after ${this.timeoutMs} ms (${command} to ${this.host})`);
        // A stuck request is abandoned, not left holding a connection; whatever else is in
        // flight on this client fails with it (the same endpoint is evidently not answering).
        this.aborter.abort(error);
        this.aborter = new AbortController();
        reject(error);
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([run(), deadline]);
    } catch (err) {
      throw this.describe(command, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reachability, for health checks: one PING. */
  async ping(): Promise<void> {
    await this.call("PING", () => this.redis.ping());
  }

  private describe(command: string, err: unknown): UpstashLogError {
    if (err instanceof UpstashLogError) return err;
    const e = err instanceof Error ? err : new Error(String(err));
    if (e.name === "TimeoutError" || e.name === "AbortError" || /\babort/i.test(e.message)) {
      return new UpstashLogError(`Upstash: timeout after ${this.timeoutMs} ms (${command} to ${this.host})`, { cause: err });
    }
    if (e.name === "UpstashError") {
      // "<redis or REST error>, command was: [...]": the command would carry payloads; drop it.
      const message = e.message.replace(/, command was: [\s\S]*$/, "").replace(/^Command failed: /, "");
      return new UpstashLogError(`Upstash: ${message}`, { cause: err });
    }
    if (e.name === "UpstashJSONParseError") {
      return new UpstashLogError(`Upstash: unexpected response from ${this.host} (${e.message.slice(0, 160)})`, { cause: err });
    }
    // fetch() itself failed: DNS, refused connection, TLS, reset.
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return new UpstashLogError(`Upstash: cannot reach ${this.host} (${e.message}${cause})`, { cause: err });
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "upstash";
  }
}
