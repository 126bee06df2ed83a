// Reads a request body into bytes with a hard size limit, gunzipping it first when the sender
// says Content-Encoding: gzip (OTLP exporters, Telegraf and the InfluxDB clients all may).
import { concatBytes } from "../../core/bytes.ts";
import { ProtocolError, TooLarge } from "./points.ts";

/**
 * Compressed input is fed to the decompressor in slices of this size, and the pump yields to the
 * reader between slices. workerd's DecompressionStream has no backpressure: each write inflates
 * its whole input into an internal buffer at once (deflate expands up to ~1032:1). Small slices
 * plus the yield keep that buffer to a few MiB, so a gzip bomb is cut at the limit after about
 * limit/1032 compressed bytes instead of being inflated in full.
 */
const SLICE = 4096;
const yieldToReader = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The body as bytes: at most `maxBytes` after decompression, else TooLarge, read no further than
 * needed to know that. An empty or missing body gives zero bytes. Encodings other than gzip and
 * identity → ProtocolError "unsupported_encoding" (415); a corrupt gzip stream → ProtocolError.
 * The compressed stream may not exceed `maxBytes` plus gzip's framing either (a stream of empty
 * gzip members would otherwise be read forever for nothing).
 */
export async function readBody(
  input: Request | ReadableStream<Uint8Array> | null,
  contentEncoding: string | null | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  const stream = input instanceof ReadableStream || input === null ? input : input.body;
  if (stream === null) return new Uint8Array(0);
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  if (encoding === "" || encoding === "identity") return collect(stream, maxBytes, false);
  if (encoding !== "gzip" && encoding !== "x-gzip") {
    await stream.cancel().catch(() => {});
    throw new ProtocolError(`unsupported Content-Encoding "${encoding}": send gzip or identity`, "unsupported_encoding");
  }
  const gunzip = new DecompressionStream("gzip");
  const writer = gunzip.writable.getWriter();
  const compressedLimit = maxBytes + 1024 + Math.ceil(maxBytes / 100);
  // Pumps the compressed bytes in; stops early when the reading side gives up (limit, error).
  const reader = stream.getReader();
  let stopped = false;
  const pump = (async () => {
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > compressedLimit) throw new TooLarge(maxBytes);
        for (let at = 0; at < value.byteLength && !stopped; at += SLICE) {
          await writer.write(value.subarray(at, at + SLICE) as Uint8Array<ArrayBuffer>);
          await yieldToReader();
        }
        if (stopped) return;
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => {});
      await reader.cancel().catch(() => {});
      throw e;
    }
  })();
  pump.catch(() => {}); // its failure surfaces through the readable side or below
  try {
    const bytes = await collect(gunzip.readable, maxBytes, true);
    await pump;
    return bytes;
  } catch (e) {
    stopped = true;
    // Unblocks a pump still waiting on a slow sender, then prefers its reason (TooLarge on the
    // compressed side) as the more telling one.
    await reader.cancel().catch(() => {});
    const pumped = await pump.then(
      () => undefined,
      (p: unknown) => p,
    );
    const reason = pumped instanceof ProtocolError ? pumped : e;
    if (reason instanceof ProtocolError) throw reason;
    throw new ProtocolError(`body is not valid gzip: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

async function collect(stream: ReadableStream<Uint8Array>, maxBytes: number, gzipped: boolean): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      if (gzipped) throw e; // readBody words it
      throw new ProtocolError(`body could not be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (r.done) break;
    total += r.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(maxBytes);
    }
    chunks.push(r.value);
  }
  return concatBytes(chunks);
}
