// The baseline: a plain Node SSE server built the way the seed article builds one. One
// process, clients in a Map, and each published event written to every response in a loop.
// It speaks the same routes and bytes as the product so the same load generator drives both.
import { createServer, type ServerResponse } from "node:http";

export interface BaselineServer {
  url: string;
  close(): Promise<void>;
}

export async function startBaseline(port = 0): Promise<BaselineServer> {
  const clients = new Map<number, ServerResponse>();
  let nextClient = 0;
  let lastMs = 0;
  let seq = 0;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && /^\/api\/dashboards\/[^/]+\/events$/.test(url.pathname)) {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
      res.write("retry: 2000\n\n");
      const id = nextClient++;
      clients.set(id, res);
      const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), 15_000);
      req.on("close", () => {
        clearInterval(heartbeat);
        clients.delete(id);
      });
      return;
    }
    if (req.method === "POST" && /^\/api\/dashboards\/[^/]+\/metrics$/.test(url.pathname)) {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const samples = [JSON.parse(body)].flat() as Record<string, unknown>[];
        const ids: string[] = [];
        for (const sample of samples) {
          const now = Date.now();
          seq = now > lastMs ? 0 : seq + 1;
          lastMs = Math.max(now, lastMs);
          const id = `${lastMs}-${seq}`;
          ids.push(id);
          const frame = `id: ${id}\nevent: metric-update\ndata: ${JSON.stringify(sample)}\n\n`;
          for (const client of clients.values()) client.write(frame);
        }
        res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ ids, alertIds: [] }));
      });
      return;
    }
    if (req.method === "GET" && /^\/api\/dashboards\/[^/]+\/stats$/.test(url.pathname)) {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ connectedClients: clients.size }));
      return;
    }
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise((resolve) => {
        for (const c of clients.values()) c.destroy();
        server.close(() => resolve());
      }),
  };
}

// `node bench/baseline-server.ts [port]`: run it as its own process, as a real server would be.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startBaseline(Number(process.argv[2] ?? 0));
  console.log(server.url);
  process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
}
