// Property tests: whatever bytes arrive, the decoders return a result or throw ProtocolError,
// never anything else, and they finish quickly. Inputs are random bytes, and valid requests
// (from the real OpenTelemetry SDK serializers) mutated by flips, cuts and splices.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parseLineProtocol } from "../../../worker/protocols/line-protocol.ts";
import { decodeOtlpLogs, decodeOtlpMetrics, type OtlpEncoding } from "../../../worker/protocols/otlp.ts";
import { ProtocolError, type Point } from "../../../worker/protocols/points.ts";
import { mutated } from "./mutations.ts";
import { sdkLogs, sdkMetrics, spanContext, type Encoded } from "./producers.ts";

/** Runs f; a ProtocolError is an outcome, anything else fails the property. Checks the time too. */
function outcome(f: () => unknown): "ok" | "error" {
  const started = Date.now();
  try {
    f();
    return "ok";
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    expect(e.message.length).toBeLessThan(2_000);
    return "error";
  } finally {
    expect(Date.now() - started).toBeLessThan(1_000);
  }
}

/** Every point a decoder returns is well-formed, whatever it was fed. */
function wellFormed(points: Point[]) {
  for (const p of points) {
    expect(typeof p.name).toBe("string");
    expect(Number.isNaN(p.value)).toBe(false);
    if (p.timeMs !== undefined) expect(Number.isFinite(p.timeMs)).toBe(true);
    for (const v of Object.values(p.attributes)) expect(["string", "number", "boolean"]).toContain(typeof v);
  }
}

/** Structural mutations of a JSON request: any node replaced by an arbitrary JSON value. */
function mutateJson(doc: unknown, path: number[], replacement: unknown): unknown {
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (nodes.push({ parent: v, key: i }), walk(x)));
    else if (v !== null && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
  };
  const copy = structuredClone(doc);
  walk(copy);
  for (const p of path) {
    const n = nodes[p % Math.max(1, nodes.length)];
    if (n) (n.parent as Record<string | number, unknown>)[n.key] = replacement;
  }
  return copy;
}

let metrics: Encoded;
let logs: Encoded;
beforeAll(async () => {
  metrics = await sdkMetrics((m) => {
    m.createCounter("reqs").add(5, { route: "/a", tags: ["x", "y"] });
    m.createGauge("cpu").record(0.5, { core: 3 });
    m.createHistogram("lat").record(12);
  });
  logs = await sdkLogs([
    { severityNumber: 13, body: { msg: "hi", n: [1, 2] }, attributes: { a: 1 }, context: spanContext, timestamp: 1_700_000_000_000 },
    { severityText: "error", body: "plain" },
  ]);
});

/** Decodes and checks the records' shape; throws what the decoder threw. */
const decoders: [string, (b: Uint8Array | string, e: OtlpEncoding) => void][] = [
  ["metrics", (b, e) => wellFormed(decodeOtlpMetrics(b, e).points)],
  [
    "logs",
    (b, e) => {
      for (const r of decodeOtlpLogs(b, e).logs) {
        expect(["debug", "info", "warn", "error", "fatal"]).toContain(r.level);
        expect(typeof r.message).toBe("string");
        if (r.timeMs !== undefined) expect(Number.isFinite(r.timeMs)).toBe(true);
        for (const v of Object.values(r.attributes)) expect(["string", "number", "boolean"]).toContain(typeof v);
      }
    },
  ],
];

describe("OTLP decoders under fuzzing", () => {
  for (const [signal, decode] of decoders) {
    for (const encoding of ["protobuf", "json"] as const) {
      it(`${signal}/${encoding}: random bytes`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
            outcome(() => decode(bytes, encoding));
          }),
          { numRuns: 1_000 },
        );
      });

      it(`${signal}/${encoding}: mutated valid requests`, () => {
        const valid = (signal === "metrics" ? metrics : logs)[encoding];
        const seen = new Set<string>();
        fc.assert(
          fc.property(mutated(valid), (bytes) => {
            seen.add(outcome(() => decode(bytes, encoding)));
          }),
          { numRuns: 1_500 },
        );
        // Both outcomes happen, so the mutations neither always break nor never break the body.
        expect([...seen].sort()).toEqual(["error", "ok"]);
      });
    }

    it(`${signal}/json: structurally mutated requests`, () => {
      const doc = JSON.parse(new TextDecoder().decode((signal === "metrics" ? metrics : logs).json));
      const anyJson = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom("NaN", "Infinity", "-1", "1e999", "18446744073709551616", "zz", "", 1e308, -0, 2 ** 64, null, [], {}),
      );
      fc.assert(
        fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), anyJson, (path, replacement) => {
          outcome(() => decode(JSON.stringify(mutateJson(doc, path, replacement)), "json"));
        }),
        { numRuns: 2_000 },
      );
    });
  }

  it("deeply nested AnyValues are refused or flattened, not a crash", () => {
    let v = '{"stringValue":"x"}';
    for (let i = 0; i < 5_000; i++) v = `{"arrayValue":{"values":[${v}]}}`;
    const body = `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"asDouble":1,"attributes":[{"key":"k","value":${v}}]}]}}]}]}]}`;
    expect(outcome(() => decodeOtlpMetrics(body, "json"))).toBe("error");
    let shallow = '{"stringValue":"x"}';
    for (let i = 0; i < 30; i++) shallow = `{"arrayValue":{"values":[${shallow}]}}`;
    const ok = decodeOtlpMetrics(body.replace(v, shallow), "json");
    expect(ok.points[0]!.attributes.k).toMatch(/^\[\[\[.*"…".*\]\]\]$/);
  });
});

describe("line protocol under fuzzing", () => {
  const valid = [
    'cpu,host=a,region=eu\\ west usage=1.5,idle=98i,ok=true,s="x \\" y" 1700000000000000000',
    "# comment",
    "mem\\,x,k\\=1=v\\ 2 used=1e3,free=2u",
    "",
    "disk free=.5",
  ].join("\n");

  it("random text", () => {
    const text = fc.string({ unit: fc.constantFrom(...'ab=, \\"\n\r\t#.-+0123456789eEiutTfF'), maxLength: 200 });
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: "binary", maxLength: 200 })), (body) => {
        outcome(() => wellFormed(parseLineProtocol(body).points));
      }),
      { numRuns: 3_000 },
    );
  });

  it("mutated valid bodies: errors name a line that exists", () => {
    const bytes = new TextEncoder().encode(valid);
    const seen = new Set<string>();
    fc.assert(
      fc.property(mutated(bytes), fc.constantFrom("ns", "us", "ms", "s" as const), (b, precision) => {
        try {
          wellFormed(parseLineProtocol(b, precision).points);
          seen.add("ok");
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          seen.add("error");
          const m = /^at line (\d+):(-?\d+): /.exec(e.message);
          if (m) expect(Number(m[2])).toBeGreaterThanOrEqual(1);
          if (m) expect(Number(m[1])).toBeLessThanOrEqual(new TextDecoder().decode(b).split("\n").length);
          else expect(e.message).toBe("body is not valid UTF-8");
        }
      }),
      { numRuns: 3_000 },
    );
    expect([...seen].sort()).toEqual(["error", "ok"]);
  });

  it("escaped and unicode names survive the round trip", () => {
    const name = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
      .filter((s) => !/[\\\n\r\t]/.test(s) && !s.startsWith("#") && s.trim() === s);
    const esc = (s: string, chars: RegExp) => s.replace(chars, (c) => `\\${c}`);
    fc.assert(
      fc.property(
        name,
        name,
        name,
        name,
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)),
        (m, tk, tv, fk, value) => {
          const line = `${esc(m, /[, ]/g)},${esc(tk, /[,= ]/g)}=${esc(tv, /[,= ]/g)} ${esc(fk, /[,= ]/g)}=${value} 1`;
          const r = parseLineProtocol(line);
          expect(r.points).toEqual([{ name: `${m}_${fk}`, attributes: { [tk]: tv }, timeMs: 0, value, kind: "gauge" }]);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
