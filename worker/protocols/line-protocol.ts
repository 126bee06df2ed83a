// InfluxDB line protocol (the v2 write API's body, as Telegraf and @influxdata/influxdb-client
// send it) into neutral points. Hand-written on purpose: the maintained parsers are Go/Rust
// (influxdata/line-protocol, influxdb3's), and the JS ones are unmaintained, Node-only or build
// lines rather than read them; this path is hot (batches of thousands of lines), so it is one
// pass over the string with charCodeAt, slicing names only when they hold escapes.
//
// <measurement>[,<tag>=<value>...] <field>=<value>[,<field>=<value>...] [<timestamp>]
// Each numeric field becomes a gauge named `<measurement>_<field>` (Grafana Cloud's convention)
// with the tags as attributes; booleans become 1/0; string fields are rejected, not errors.
// Any syntax error rejects the whole body: ProtocolError "at line L:C: <what is wrong>".
import type { AttributeValue } from "../../contract/index.ts";
import { Refusals } from "../../core/ingest/refusals.ts";
import { ProtocolError, setOwn, type Attributes, type Point, type PointsResult } from "./points.ts";

export type Precision = "ns" | "us" | "ms" | "s";
export const PRECISIONS: readonly Precision[] = ["ns", "us", "ms", "s"];

const NL = 10,
  CR = 13,
  SPACE = 32,
  TAB = 9,
  HASH = 35,
  COMMA = 44,
  EQ = 61,
  QUOTE = 34,
  BSL = 92;
/** int64 nanoseconds, the range InfluxDB stores, in whole ms (to within 1 ms). */
const MAX_MS = 9_223_372_036_854;
const INT_RE = /^-?\d+$/;
const UINT_RE = /^\d+$/;
const FLOAT_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a whole body. Points without a timestamp get timeMs undefined (stamp them "now"); ns
 * timestamps beyond 2^53 are cut to whole ms by string slicing, so no precision is lost above
 * the ms. The points of one line share one frozen attributes object: copy it to change it.
 */
export function parseLineProtocol(body: string | Uint8Array, precision: Precision = "ns"): PointsResult & { lines: number[] } {
  let s: string;
  if (typeof body === "string") s = body;
  else {
    try {
      s = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
    } catch {
      throw new ProtocolError("body is not valid UTF-8");
    }
  }
  const points: Point[] = [];
  /** Per point: the line it is on (1-based), for error messages about it. */
  const lines: number[] = [];
  const rejected = new Refusals();
  const n = s.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (what: string, at: number): never => {
    throw new ProtocolError(`at line ${line}:${at - lineStart + 1}: ${what}`);
  };
  // Scans a name (measurement, tag key/value, field key) from i to the first unescaped stop
  // character; returns its end and whether it holds escapes.
  let escaped = false;
  const scanName = (from: number, stopEq: boolean, stopComma: boolean): number => {
    escaped = false;
    let j = from;
    for (; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c === SPACE || c === NL || (stopComma && c === COMMA) || (stopEq && c === EQ)) break;
      if (c === BSL && j + 1 < n && s.charCodeAt(j + 1) !== NL) {
        escaped = true;
        j++;
      }
    }
    return j;
  };
  const name = (from: number, to: number) => (escaped ? unescapeName(s, from, to) : s.slice(from, to));

  while (i < n) {
    // A line: skip leading blanks; blank lines and comments carry nothing.
    let c = s.charCodeAt(i);
    while (c === SPACE || c === TAB || c === CR) c = s.charCodeAt(++i);
    if (i >= n) break;
    if (c === NL || c === HASH) {
      while (i < n && s.charCodeAt(i) !== NL) i++;
      i++;
      line++;
      lineStart = i;
      continue;
    }
    // Measurement and tags.
    let end = scanName(i, false, true);
    if (end === i) fail("missing measurement", i);
    const measurement = name(i, end);
    const tags: Attributes = {};
    i = end;
    while (s.charCodeAt(i) === COMMA) {
      const k = i + 1;
      end = scanName(k, true, true);
      if (end === k) fail("missing tag key", k);
      if (s.charCodeAt(end) !== EQ) fail(`expected '=' after tag key "${name(k, end)}"`, end);
      const key = name(k, end);
      const v = end + 1;
      end = scanName(v, false, true);
      if (end === v) fail(`missing tag value for "${key}"`, v);
      if (key === "__proto__") setOwn<AttributeValue>(tags, key, name(v, end));
      else tags[key] = name(v, end);
      i = end;
    }
    if (i >= n || s.charCodeAt(i) !== SPACE) fail("missing fields", i);
    while (s.charCodeAt(i) === SPACE) i++;
    // Fields. The points of one line share their (frozen) tags object.
    Object.freeze(tags);
    const first = points.length;
    let fields = 0;
    for (;;) {
      const k = i;
      end = scanName(k, true, true);
      if (end === k) fail(fields === 0 ? "missing fields" : "missing field key", k);
      if (s.charCodeAt(end) !== EQ) fail(`expected '=' after field key "${name(k, end)}"`, end);
      const field = name(k, end);
      i = end + 1;
      let value: number | undefined;
      if (s.charCodeAt(i) === QUOTE) {
        // A string field: skip it (it may span lines), then count it as rejected.
        const [openLine, openLineStart] = [line, lineStart];
        let j = i + 1;
        for (; j < n; j++) {
          const q = s.charCodeAt(j);
          if (q === QUOTE) break;
          if (q === BSL) j++;
          else if (q === NL) {
            line++;
            lineStart = j + 1;
          }
        }
        if (j >= n) {
          [line, lineStart] = [openLine, openLineStart]; // name where the string opened
          fail(`unterminated string value for field "${field}"`, i);
        }
        i = j + 1;
        rejected.add(`string field "${field}" of "${measurement}"`);
      } else {
        let j = i;
        for (; j < n; j++) {
          const q = s.charCodeAt(j);
          if (q === COMMA || q === SPACE || q === NL || q === CR) break;
        }
        const v = fieldValue(s.slice(i, j), field);
        if (typeof v === "string") fail(v, i);
        value = v as number;
        i = j;
      }
      fields++;
      if (value !== undefined) {
        points.push({ name: `${measurement}_${field}`, attributes: tags, timeMs: undefined, value, kind: "gauge" });
        lines.push(line);
      }
      if (s.charCodeAt(i) !== COMMA) break;
      i++;
    }
    // Optional timestamp, then the end of the line.
    while (s.charCodeAt(i) === SPACE) i++;
    let j = i;
    for (; j < n; j++) {
      const q = s.charCodeAt(j);
      if (q === SPACE || q === NL || q === CR) break;
    }
    if (j > i) {
      const timeMs = timestamp(s.slice(i, j), precision);
      if (typeof timeMs === "string") fail(timeMs, i);
      for (let p = first; p < points.length; p++) points[p]!.timeMs = timeMs as number;
      i = j;
      while (s.charCodeAt(i) === SPACE) i++;
    }
    if (s.charCodeAt(i) === CR) i++;
    if (i < n && s.charCodeAt(i) !== NL) fail("unexpected text after the timestamp", i);
    i++;
    line++;
    lineStart = i;
  }
  return { points, rejected: rejected.result(), lines };
}

/** A field value other than a string: number (int `i`, unsigned `u`, float) or boolean; or what is wrong. */
function fieldValue(t: string, field: string): number | string {
  const last = t.charCodeAt(t.length - 1);
  if (t.length === 0) return `missing value for field "${field}"`;
  if (last === 105 /* i */ || last === 117 /* u */) {
    const digits = t.slice(0, -1);
    if (!(last === 105 ? INT_RE : UINT_RE).test(digits))
      return `invalid ${last === 105 ? "integer" : "unsigned"} value ${JSON.stringify(t)} for field "${field}"`;
    const max = last === 105 ? (digits.charCodeAt(0) === 45 ? "9223372036854775808" : "9223372036854775807") : "18446744073709551615";
    const abs = digits.charCodeAt(0) === 45 ? digits.slice(1) : digits;
    if (abs.length > max.length || (abs.length === max.length && abs > max))
      return `value ${t.slice(0, 40)} for field "${field}" is out of range`;
    return Number(digits); // beyond 2^53 the nearest double: this product only shows it
  }
  switch (t) {
    case "t":
    case "T":
    case "true":
    case "True":
    case "TRUE":
      return 1;
    case "f":
    case "F":
    case "false":
    case "False":
    case "FALSE":
      return 0;
  }
  if (!FLOAT_RE.test(t)) return `invalid value ${JSON.stringify(t.slice(0, 40))} for field "${field}"`;
  const v = Number(t);
  if (!Number.isFinite(v)) return `value ${t.slice(0, 40)} for field "${field}" is out of range`;
  return v;
}

/** Whole ms from an integer in `precision`, by slicing digits (ns/us) so 2^53 is no limit; or what is wrong. */
function timestamp(t: string, precision: Precision): number | string {
  if (!INT_RE.test(t)) return `invalid timestamp ${JSON.stringify(t.slice(0, 40))}`;
  const negative = t.charCodeAt(0) === 45;
  const digits = negative ? t.slice(1) : t;
  if (digits.length > 22) return `timestamp ${t.slice(0, 40)} is out of range`;
  const drop = precision === "ns" ? 6 : precision === "us" ? 3 : 0;
  let ms = digits.length > drop ? Number(digits.slice(0, digits.length - drop)) : 0;
  if (precision === "s") ms *= 1000;
  if (ms > MAX_MS) return `timestamp ${t.slice(0, 40)} is out of range`;
  return negative && ms !== 0 ? -ms : ms;
}

/** Undoes line-protocol escapes in a name: \, \space \= \\ and the client's \n \r \t; other backslashes stay. */
function unescapeName(s: string, from: number, to: number): string {
  let out = "";
  let last = from;
  for (let j = from; j < to - 1; j++) {
    if (s.charCodeAt(j) !== BSL) continue;
    const c = s[j + 1]!;
    const m = c === "," || c === " " || c === "=" || c === "\\" ? c : c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : undefined;
    out += s.slice(last, j) + (m ?? "\\" + c);
    j++;
    last = j + 1;
  }
  return out + s.slice(last, to);
}
