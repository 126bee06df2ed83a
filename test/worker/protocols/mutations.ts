// Byte-level mutations for the fuzz tests (decoders, and the remote write route).
import fc from "fast-check";

/** Byte-level mutations of a valid body: flips, overwrites, cuts, duplicated ranges, insertions. */
export const mutated = (valid: Uint8Array) =>
  fc
    .array(
      fc.oneof(
        fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ op: fc.constant("cut" as const), at: fc.nat() }),
        fc.record({ op: fc.constant("dup" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
        fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = valid.slice();
      for (const o of ops) {
        const at = b.length === 0 ? 0 : o.at % b.length;
        if (o.op === "set") b[at] = o.byte;
        else if (o.op === "flip") b[at] = (b[at] ?? 0) ^ (1 << o.bit);
        else if (o.op === "cut") b = b.slice(0, at);
        else if (o.op === "dup") b = new Uint8Array([...b.subarray(0, at + o.len), ...b.subarray(at)]);
        else b = new Uint8Array([...b.subarray(0, at), ...o.bytes, ...b.subarray(at)]);
      }
      return b;
    });
