// GET /sink?n=<streams>&path=<product path>[&perSecond=<opens/s>]: opens n SSE streams through the product's Worker
// (service binding, no socket per stream) and reports on its own response, twice a second,
// "<open> <events> <errors>": streams open, event frames received on all of them, refused or failed opens.
interface Env {
  PRODUCT: Fetcher;
}

const ID = new TextEncoder().encode("id: ");

/** Frames with an id in `chunk` (metric updates and alerts; not the retry line or heartbeats). */
function countIds(chunk: Uint8Array): number {
  let n = 0;
  outer: for (let i = chunk.indexOf(ID[0]!); i !== -1 && i <= chunk.length - ID.length; i = chunk.indexOf(ID[0]!, i + 1)) {
    for (let j = 1; j < ID.length; j++) if (chunk[i + j] !== ID[j]) continue outer;
    if (i === 0 || chunk[i - 1] === 10) n++;
  }
  return n;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/sink") return new Response("GET /sink?n=&path=", { status: 404 });
    const n = Number(url.searchParams.get("n") ?? 0);
    const path = url.searchParams.get("path") ?? "/";
    const perSecond = Number(url.searchParams.get("perSecond") ?? Infinity);
    let open = 0;
    let events = 0;
    let errors = 0;
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setInterval> | undefined;
    const out = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => controller.enqueue(encoder.encode(`${open} ${events} ${errors}\n`)), 500);
      },
      cancel() {
        clearInterval(timer);
        for (const r of readers) r.cancel().catch(() => {});
      },
    });
    /** Resolves once the stream is open; reading goes on behind it. */
    const openOne = async () => {
      const response = await env.PRODUCT.fetch(`https://product${path}`);
      if (response.status !== 200 || !response.body) {
        errors++;
        await response.body?.cancel();
        return;
      }
      open++;
      const reader = response.body.getReader();
      readers.push(reader);
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            events += countIds(value);
          }
        } catch {
          errors++;
        }
        open--;
      })();
    };
    // 50 at a time, like the socket viewers, at most `perSecond` a second.
    void (async () => {
      const started = Date.now();
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => openOne().catch(() => void errors++)));
        const due = started + ((i + 50) / perSecond) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
    })();
    // An event-stream content type: not compressed (and so not buffered) on the way out.
    return new Response(out, { headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-transform" } });
  },
};
