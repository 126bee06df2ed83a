// readBody in workerd: identity and gzip bodies, size limits, and gzip bombs cut at the limit
// without reading (or inflating) the rest.
import { describe, expect, it } from "vitest";
import { readBody } from "../../../worker/protocols/body.ts";
import { ProtocolError, TooLarge } from "../../../worker/protocols/points.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A stream of `chunks`, counting how many the reader pulled. */
function counted(chunks: Uint8Array[]) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (state.pulled === chunks.length) return c.close();
        c.enqueue(chunks[state.pulled++]!);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

async function gzip(parts: Uint8Array[]): Promise<Uint8Array> {
  const s = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  }).pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Splits bytes into chunks of `size`. */
const chunked = (b: Uint8Array, size: number) =>
  Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));

describe("readBody", () => {
  it("reads identity bodies from a Request or a stream, and a missing body as empty", async () => {
    const req = new Request("https://x/", { method: "POST", body: "hello" });
    expect(text(await readBody(req, null, 5))).toBe("hello");
    expect(text(await readBody(counted(chunked(new TextEncoder().encode("a,b,c"), 2)).stream, "identity", 100))).toBe("a,b,c");
    expect((await readBody(new Request("https://x/"), undefined, 10)).byteLength).toBe(0);
    expect((await readBody(null, "gzip", 10)).byteLength).toBe(0);
  });

  it("refuses an identity body over the limit without reading it all", async () => {
    const { stream, state } = counted(Array.from({ length: 100 }, () => new Uint8Array(1000)));
    await expect(readBody(stream, "", 4_500)).rejects.toBeInstanceOf(TooLarge);
    expect(state.pulled).toBeLessThanOrEqual(6);
  });

  it("gunzips gzip and x-gzip bodies, whatever the chunking", async () => {
    const original = new TextEncoder().encode("cpu,host=a usage=1\n".repeat(2000));
    const gz = await gzip([original]);
    for (const size of [1, 7, 4096, gz.length]) {
      const out = await readBody(counted(chunked(gz, size)).stream, size === 1 ? "x-gzip" : " GZIP ", original.length);
      expect(out).toEqual(original);
    }
    const req = new Request("https://x/", { method: "POST", body: gz, headers: { "content-encoding": "gzip" } });
    expect(text(await readBody(req, req.headers.get("content-encoding"), 1 << 20))).toBe(text(original));
  });

  it("cuts a gzip bomb at the limit, long before the end of the compressed stream", async () => {
    // 64 MiB of zeros compress to ~64 KiB; the limit is 1 MiB.
    const zeros = new Uint8Array(1 << 20);
    const bomb = await gzip(Array.from({ length: 64 }, () => zeros));
    expect(bomb.length).toBeLessThan(100_000);
    const chunks = chunked(bomb, 1024);
    const { stream, state } = counted(chunks);
    const started = Date.now();
    const err = await readBody(stream, "gzip", 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooLarge);
    expect((err as TooLarge).code).toBe("too_large");
    expect(state.pulled).toBeLessThan(chunks.length / 8);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("cuts a bomb sent as one chunk, and does not wait for a sender that stalls after it", async () => {
    const bomb = await gzip(Array.from({ length: 16 }, () => new Uint8Array(1 << 20)));
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bomb);
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(readBody(stalled, "gzip", 64 * 1024)).rejects.toBeInstanceOf(TooLarge);
    expect(cancelled).toBe(true);
  });

  it("limits the compressed side too (a deflate stream of empty blocks inflates to nothing)", async () => {
    const header = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const emptyStoredBlocks = new Uint8Array(5000); // non-final stored blocks of length 0
    for (let i = 0; i < 5000; i += 5) emptyStoredBlocks.set([0, 0, 0, 0xff, 0xff], i);
    const { stream, state } = counted([header, ...Array.from({ length: 1000 }, () => emptyStoredBlocks)]);
    await expect(readBody(stream, "gzip", 10_000)).rejects.toBeInstanceOf(TooLarge);
    expect(state.pulled).toBeLessThan(10);
  });

  it("refuses corrupt or truncated gzip and unknown encodings with ProtocolError", async () => {
    const gz = await gzip([new TextEncoder().encode("x".repeat(10_000))]);
    const corrupt = gz.slice();
    corrupt[20] = (corrupt[20] ?? 0) ^ 0xff;
    for (const body of [new TextEncoder().encode("not gzip at all"), corrupt, gz.subarray(0, gz.length - 10)]) {
      const err = await readBody(counted([body]).stream, "gzip", 1 << 20).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err).not.toBeInstanceOf(TooLarge);
      expect((err as Error).message).toMatch(/gzip/);
    }
    for (const enc of ["br", "deflate", "gzip, br"]) {
      const err = await readBody(counted([gz]).stream, enc, 1 << 20).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "ProtocolError", code: "unsupported_encoding" });
    }
  });
});
