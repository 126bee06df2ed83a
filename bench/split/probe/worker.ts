// The probe (bench/split/primitives.ts): one object holding N viewers either as the product's
// own StreamClient each (a ReadableStream: one synchronous enqueue of shared bytes, the runtime's
// pull parked), or as a WebSocket each (one send), and an edge Worker that turns
// either into the viewer's SSE response. GET /stream and /ws open a viewer; POST /broadcast
// writes one frame to every viewer; GET /ready answers "probe".
import { DurableObject } from "cloudflare:workers";
import { StreamClient } from "../../../durable-objects/streams/stream-client.ts";

interface Env {
  PROBE: DurableObjectNamespace<ProbeObject>;
}

const enc = new TextEncoder();
const SSE = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform" };

export class ProbeObject extends DurableObject<Env> {
  private streams = new Set<StreamClient>();
  private sockets = new Set<WebSocket>();
  private id = 0;

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/stream") {
      const client = new StreamClient(null, enc.encode(": open\n\n"), 60_000, (c) => void this.streams.delete(c));
      client.live = true;
      this.streams.add(client);
      return new Response(client.stream, { headers: SSE });
    }
    if (path === "/ws") {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      server.accept();
      server.addEventListener("close", () => void this.sockets.delete(server));
      this.sockets.add(server);
      return new Response(null, { status: 101, webSocket: client });
    }
    if (path === "/broadcast") {
      const frame = enc.encode(`id: ${++this.id}\nevent: metric-update\ndata: {"t":${Date.now()}}\n\n`);
      for (const c of this.streams) c.write(frame, true);
      for (const s of this.sockets) s.send(frame);
      return new Response(String(this.streams.size + this.sockets.size));
    }
    return new Response("not found", { status: 404 });
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ready") return new Response("probe");
    const stub = env.PROBE.getByName("probe");
    if (url.pathname !== "/ws") return stub.fetch(`https://probe${url.pathname}`, { method: request.method, signal: request.signal });
    // The edge's half for a WebSocket: each message becomes bytes of the viewer's SSE body.
    const upgraded = await stub.fetch("https://probe/ws", { headers: { Upgrade: "websocket" } });
    const ws = upgraded.webSocket;
    if (!ws) return new Response("the object gave no WebSocket", { status: 502 });
    ws.binaryType = "arraybuffer"; // the default at this compatibility date is Blob
    ws.accept();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    void writer.write(enc.encode(": open\n\n"));
    ws.addEventListener(
      "message",
      (e) =>
        void writer.write(typeof e.data === "string" ? enc.encode(e.data) : new Uint8Array(e.data as ArrayBuffer)).catch(() => ws.close()),
    );
    ws.addEventListener("close", () => void writer.close().catch(() => {}));
    request.signal.addEventListener("abort", () => ws.close());
    return new Response(readable, { headers: SSE });
  },
};
