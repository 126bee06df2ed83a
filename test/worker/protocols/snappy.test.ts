// The snappy block decoder in front of snappyjs: what real compressors write comes back intact,
// and every block a server must not trust (bombs, headers that lie, the input snappyjs loops
// forever on) is refused from what was read before the harm.
import fc from "fast-check";
import { compress } from "snappyjs";
import { describe, expect, it } from "vitest";
import { ProtocolError, TooLarge } from "../../../worker/protocols/points.ts";
import { maxCompressedLength, snappyUncompress } from "../../../worker/protocols/snappy.ts";
import { bomb, varint } from "../remote-write-requests.ts";

const MiB = 1024 * 1024;

function refused(block: Uint8Array, max: number): ProtocolError {
  try {
    snappyUncompress(block, max);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error("accepted");
}

describe("snappyUncompress", () => {
  it("round-trips whatever snappyjs compresses, up to the limit", () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      // Repetitive data, so the compressor writes copies of every kind.
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
        .map(([unit, n]) => new Uint8Array(Array.from({ length: unit.length * n }, (_, i) => unit[i % unit.length]!))),
    );
    fc.assert(
      fc.property(data, (bytes) => {
        const block = compress(bytes);
        expect(block.length).toBeLessThanOrEqual(maxCompressedLength(bytes.length));
        expect(snappyUncompress(block, bytes.length)).toEqual(bytes);
        if (bytes.length > 0) expect(refused(block, bytes.length - 1)).toBeInstanceOf(TooLarge);
      }),
      { numRuns: 300 },
    );
  });

  it("a bomb is refused from its header: nothing after it is read", () => {
    // 64 MiB stated; what follows is a valid bomb or garbage, and the answer is the same.
    expect(refused(bomb(64 * MiB, 64 * MiB), 4 * MiB)).toBeInstanceOf(TooLarge);
    expect(refused(new Uint8Array([...varint(64 * MiB), 0xff]), 4 * MiB)).toBeInstanceOf(TooLarge);
    expect(refused(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), 4 * MiB)).toBeInstanceOf(TooLarge); // 2^32 - 1
  });

  it("a header that lies is refused: inflating past it stops there, falling short is not zero-padded", () => {
    // States 1,000 bytes, inflates to 64 MiB, then garbage: the walk stops at the 1,000th byte.
    const past = refused(bomb(1000, 64 * MiB, [0xff, 0xff]), 4 * MiB);
    expect(past).not.toBeInstanceOf(TooLarge);
    expect(past.message).toBe("body is not valid snappy: inflates past the 1000 bytes its header states");
    const real = compress(new Uint8Array(100).fill(65));
    const short = real.slice();
    short[0] = 120; // claims 120, holds 100 (snappyjs alone returns 20 zero bytes more)
    expect(refused(short, 4 * MiB).message).toBe("body is not valid snappy: inflates to 100 bytes, its header states 120");
    const long = real.slice();
    long[0] = 10; // claims 10, holds 100 (snappyjs alone returns the first 10)
    expect(refused(long, 4 * MiB).message).toBe("body is not valid snappy: inflates past the 10 bytes its header states");
  });

  it("the input snappyjs alone loops forever on is refused at once", () => {
    // A literal whose 4-byte length has the top bit set: snappyjs reads it as negative and steps back.
    expect(refused(new Uint8Array([5, 0xfc, 0xf0, 0xff, 0xff, 0xff, 0x41, 0x41]), 4 * MiB).message).toBe(
      "body is not valid snappy: literal runs past the end of the body",
    );
  });

  it("malformed blocks: ProtocolError, never another exception", () => {
    expect(refused(new Uint8Array(0), 100).message).toBe("body is not valid snappy: empty body");
    expect(refused(new Uint8Array([0x80, 0x80]), 100).message).toBe("body is not valid snappy: bad length header");
    expect(refused(new Uint8Array([4, 0x01, 0x01]), 100).message).toBe(
      "body is not valid snappy: copy from before the start of the output",
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const out = snappyUncompress(bytes, 1000);
          expect(out.length).toBeLessThanOrEqual(1000);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
