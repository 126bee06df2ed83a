// Snappy block format (what Prometheus remote write sends: one block, no framing), decoded by
// snappyjs (pure JS; workerd compiles no WebAssembly at run time). snappyjs trusts its input more
// than a server can, so every body is checked here first, by walking its elements without
// copying a byte (O(elements), bounded by the compressed size):
// - it allocates what the header states: past `maxBytes` that is refused from the header alone,
//   so a decompression bomb is never inflated;
// - it silently truncates output that inflates past the header's length and zero-pads output
//   that falls short: both are refused here (a lying header cannot get past the limit either);
// - it reads a literal's 4-byte length as a signed number and then loops forever on, e.g.,
//   05 fc f0 ff ff ff 41 41; lengths and offsets are read unsigned here and must fit.
import { uncompress } from "snappyjs";
import { ProtocolError, TooLarge } from "./points.ts";

/** The largest compressed block for `n` bytes of input (snappy's MaxEncodedLen). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/**
 * The decompressed bytes of one snappy block: TooLarge when its header states more than
 * `maxBytes`, ProtocolError when it is not a valid block (including one whose elements inflate
 * to more or fewer bytes than its header states).
 */
export function snappyUncompress(block: Uint8Array, maxBytes: number): Uint8Array {
  const { length, at } = header(block);
  if (length > maxBytes) throw new TooLarge(maxBytes);
  check(block, at, length);
  try {
    return uncompress(block, maxBytes);
  } catch (e) {
    // Unreachable after check(); kept so a library surprise is still a 400, not a 500.
    throw invalid(e instanceof Error ? e.message : String(e));
  }
}

const invalid = (what: string) => new ProtocolError(`body is not valid snappy: ${what}`);

/** The uncompressed length: a varint of at most 32 bits. */
function header(block: Uint8Array): { length: number; at: number } {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, at: i + 1 };
    }
  }
  throw invalid(block.length === 0 ? "empty body" : "bad length header");
}

/** Walks the elements: literals within the input, copies within what was produced, `length` in all. */
function check(block: Uint8Array, at: number, length: number): void {
  let pos = at;
  let produced = 0;
  const end = block.length;
  while (pos < end) {
    const tag = block[pos++]!;
    let len: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const bytes = len - 60; // 1–4 little-endian length bytes
        if (pos + bytes > end) throw invalid("truncated literal length");
        len = 0;
        for (let k = 0; k < bytes; k++) len += block[pos + k]! * 2 ** (8 * k);
        len += 1;
        pos += bytes;
      }
      if (len > end - pos) throw invalid("literal runs past the end of the body");
      pos += len;
    } else {
      let offset: number;
      if ((tag & 3) === 1) {
        if (pos + 1 > end) throw invalid("truncated copy");
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | block[pos]!;
        pos += 1;
      } else if ((tag & 3) === 2) {
        if (pos + 2 > end) throw invalid("truncated copy");
        len = (tag >>> 2) + 1;
        offset = block[pos]! | (block[pos + 1]! << 8);
        pos += 2;
      } else {
        if (pos + 4 > end) throw invalid("truncated copy");
        len = (tag >>> 2) + 1;
        offset = block[pos]! + block[pos + 1]! * 2 ** 8 + block[pos + 2]! * 2 ** 16 + block[pos + 3]! * 2 ** 24;
        pos += 4;
      }
      if (offset === 0 || offset > produced) throw invalid("copy from before the start of the output");
    }
    produced += len;
    if (produced > length) throw invalid(`inflates past the ${length} bytes its header states`);
  }
  if (produced !== length) throw invalid(`inflates to ${produced} bytes, its header states ${length}`);
}
