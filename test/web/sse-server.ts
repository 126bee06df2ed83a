// A small real SSE server for the composable's tests: each test decides, per request, the
// status, the content type, what is sent and when the connection drops.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Frame {
  id?: string;
  event?: string;
  data: string;
}

export class SseRequest {
  readonly url: URL;
  readonly at = Date.now();
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(
    readonly headers: IncomingHttpHeaders,
    path: string,
    readonly res: ServerResponse,
  ) {
    this.url = new URL(path, "http://test.invalid");
    this.closed = new Promise((resolve) =>
      res.on("close", () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  get open(): boolean {
    return !this.isClosed;
  }

  get lastEventIdHeader(): string | undefined {
    const value = this.headers["last-event-id"];
    return Array.isArray(value) ? value[0] : value;
  }

  /** 200 text/event-stream, with a `retry:` so the client's own reconnects are quick. */
  accept(retryMs = 50): this {
    this.res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" });
    this.res.write(`retry: ${retryMs}\n\n`);
    return this;
  }

  send(...frames: Frame[]): this {
    let text = "";
    for (const f of frames) {
      if (f.id !== undefined) text += `id: ${f.id}\n`;
      if (f.event !== undefined) text += `event: ${f.event}\n`;
      text += `data: ${f.data}\n\n`;
    }
    this.res.write(text);
    return this;
  }

  reject(status: number, body = JSON.stringify({ error: "test", message: `status ${status}` }), contentType = "application/json"): void {
    this.res.writeHead(status, { "Content-Type": contentType });
    this.res.end(body);
  }

  /** Drops the connection without a goodbye, as a crashed server or a cut network would. */
  drop(): void {
    this.res.socket?.destroy();
  }
}

export class SseServer {
  readonly requests: SseRequest[] = [];
  /** What to do with each request; by default accept it and send nothing. */
  onRequest: (request: SseRequest) => void = (r) => void r.accept();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly url: string,
    private readonly server: ReturnType<typeof createServer>,
  ) {}

  static async start(): Promise<SseServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const instance = new SseServer(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server);
    server.on("request", (req, res) => {
      res.socket?.setNoDelay(true);
      const request = new SseRequest(req.headers, req.url ?? "/", res);
      instance.requests.push(request);
      instance.onRequest(request);
      for (const wake of instance.waiters.splice(0)) wake();
    });
    return instance;
  }

  /** Resolves with request number `n` (1-based) once it has arrived. */
  async request(n: number, timeoutMs = 5000): Promise<SseRequest> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`request ${n} did not arrive within ${timeoutMs} ms (got ${this.requests.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests[n - 1]!;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
