// Load generator: N SSE viewers over plain sockets, and a publisher that goes through the
// product's own ingest path. Viewers in "parse" mode run every byte through eventsource-parser
// (spec-correct) and record latency from the payload timestamp; "count" mode only counts
// frame ends, so that at 100,000 deliveries/s the generator does not eat the cores it measures.
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { createParser } from "eventsource-parser";

export interface ViewerOptions {
  mode: "parse" | "count";
  /** Resume automatically (with Last-Event-ID) when the stream ends or fails. */
  reconnect?: boolean;
  headers?: Record<string, string>;
  /** Reconnect delay range in ms (default 200–1000, a browser after a network error). */
  retryDelayMs?: [number, number];
}

export class Viewer {
  events = 0;
  lastId: string | null = null;
  ids: string[] = [];
  latencies: number[] = [];
  /** When each metric update arrived (parse mode), beside its latency: for silences and per-event worst. */
  arrivals: number[] = [];
  errors = 0;
  connects = 0;
  connectedAt = 0;
  open = false;
  /** When the chunk being parsed arrived. */
  private arrivedAt = 0;
  private req: ClientRequest | null = null;
  private res: IncomingMessage | null = null;
  private closed = false;
  private onOpen: (() => void)[] = [];

  /** Where the next (re)connect goes; may be changed while the viewer runs (a restarted server's new port). */
  url: string;
  readonly options: ViewerOptions;

  constructor(url: string, options: ViewerOptions) {
    this.url = url;
    this.options = options;
  }

  connect(): Promise<void> {
    this.connects++;
    const parser = createParser({
      onEvent: (e) => {
        if (e.event !== "metric-update" && e.event !== "alert") return;
        this.events++;
        if (e.id) {
          this.lastId = e.id;
          this.ids.push(e.id);
        }
        if (e.event === "metric-update") {
          const sent = Date.parse((JSON.parse(e.data) as { timestamp: string }).timestamp);
          this.latencies.push(this.arrivedAt - sent);
          this.arrivals.push(this.arrivedAt);
        }
      },
    });
    const headers: Record<string, string> = { Accept: "text/event-stream", ...this.options.headers };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    return new Promise((resolve, reject) => {
      const req = request(this.url, { headers, agent: false }, (res) => {
        this.res = res;
        if (res.statusCode !== 200) {
          this.errors++;
          res.resume();
          this.retryLater();
          resolve();
          return;
        }
        this.open = true;
        this.connectedAt = Date.now();
        for (const f of this.onOpen.splice(0)) f();
        resolve();
        if (this.options.mode === "parse") {
          // Note the arrival time now and parse later: with a thousand sockets ready at once,
          // parsing inline would add every earlier socket's parsing to a later socket's latency.
          res.setEncoding("utf8");
          res.on("data", (chunk: string) =>
            deferParse(Date.now(), (arrivedAt) => {
              this.arrivedAt = arrivedAt;
              parser.feed(chunk);
            }),
          );
        } else {
          res.on("data", (chunk: Buffer) => {
            // Count frame ends ("\n\n") of events, not of comments or the retry line.
            let at = chunk.indexOf("id: ");
            while (at !== -1) {
              this.events++;
              at = chunk.indexOf("id: ", at + 4);
            }
          });
        }
        res.on("end", () => this.dropped());
        res.on("error", () => this.dropped());
      });
      req.on("error", (err) => {
        if (this.closed) return resolve();
        this.errors++;
        if (!this.open && !this.options.reconnect) reject(err);
        else {
          this.dropped();
          resolve();
        }
      });
      req.end();
      this.req = req;
    });
  }

  /** Resolves when the next connection is open. */
  whenOpen(): Promise<void> {
    return this.open ? Promise.resolve() : new Promise((r) => this.onOpen.push(r));
  }

  private dropped(): void {
    if (!this.open && this.closed) return;
    this.open = false;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || !this.options.reconnect) return;
    // Like a browser after a network error: retry soon, with jitter to spread the storm.
    const [min, max] = this.options.retryDelayMs ?? [200, 1000];
    setTimeout(() => void this.connect().catch(() => this.retryLater()), min + Math.random() * (max - min));
  }

  /** Stops reading: the socket's buffers fill and the server sees a slow consumer. */
  pause(): void {
    this.res?.pause();
  }

  /** Cuts the connection as a network drop would. */
  cut(): void {
    this.req?.destroy();
  }

  close(): void {
    this.closed = true;
    this.open = false;
    this.req?.destroy();
  }
}

const parseQueue: { arrivedAt: number; parse: (arrivedAt: number) => void }[] = [];

/** Parses after the current I/O phase, so every ready socket is timestamped before any parsing. */
function deferParse(arrivedAt: number, parse: (arrivedAt: number) => void): void {
  if (parseQueue.push({ arrivedAt, parse }) === 1) {
    setImmediate(() => {
      for (const item of parseQueue.splice(0)) item.parse(item.arrivedAt);
    });
  }
}

export async function openViewers(url: string, n: number, options: ViewerOptions, concurrency = 50): Promise<Viewer[]> {
  const viewers = Array.from({ length: n }, () => new Viewer(url, options));
  for (let i = 0; i < n; i += concurrency) {
    await Promise.all(viewers.slice(i, i + concurrency).map((v) => v.connect()));
  }
  return viewers;
}

/** Publish → viewer latency and throughput of one load run. */
export interface LatencyResult {
  streams: number;
  published: number;
  deliveries: number;
  expected: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  deliveriesPerSecond: number;
  serverCpuMicrosPerDelivery: number | null;
}

export interface Publisher {
  /** Ids the product assigned to what was published, in order. */
  ids: string[];
  /** Send time and round trip of each ingest request, in ms (for the soak's stall report). */
  posts: { at: number; ms: number }[];
  errors: number;
  stop(): Promise<void>;
}

/**
 * Publishes `perSecond` samples a second through POST …/metrics, in `batch`-sized requests,
 * each sample stamped with the time it is sent (latency is measured against that).
 */
export function startPublisher(url: string, token: string, perSecond: number, batch = 1): Publisher {
  const ids: string[] = [];
  const posts: { at: number; ms: number }[] = [];
  let errors = 0;
  let running = true;
  const interval = (1000 * batch) / perSecond;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = new Date().toISOString();
    const samples = Array.from({ length: batch }, (_, i) => ({
      cpu: 40 + (i % 10),
      memory: 60,
      rps: 1000 + i,
      activeConnections: 100,
      errorRate: 0.5,
      timestamp: now,
    }));
    const at = Date.now();
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(samples),
      });
      if (response.status !== 202) {
        errors++;
        await response.body?.cancel();
        return;
      }
      ids.push(...((await response.json()) as { ids: string[] }).ids);
      posts.push({ at, ms: Date.now() - at });
    } catch {
      errors++;
    }
  };
  const start = Date.now();
  let n = 0;
  const loop = async () => {
    while (running) {
      inFlight = tick();
      n++;
      const next = start + n * interval;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  };
  const done = loop();
  return {
    ids,
    posts,
    get errors() {
      return errors;
    },
    stop: async () => {
      running = false;
      await done;
      await inFlight;
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
