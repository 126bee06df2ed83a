// OTLP logs: records emitted through the real OpenTelemetry JS logs SDK and serialized by the
// OTLP serializers (both encodings), plus JSON requests for severities the SDK leaves to callers.
import { SeverityNumber } from "@opentelemetry/api-logs";
import { describe, expect, it } from "vitest";
import { decodeOtlpLogs } from "../../../worker/protocols/otlp.ts";
import { ProtocolError } from "../../../worker/protocols/points.ts";
import { sdkLogs, SPAN_ID, spanContext, TRACE_ID } from "./producers.ts";

const oneRecord = (record: object) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] });

describe("OTLP logs from the OpenTelemetry JS SDK", () => {
  it("decodes time, level, message, attributes and trace context the same from protobuf and JSON", async () => {
    const enc = await sdkLogs(
      [
        {
          timestamp: 1_700_000_000_123,
          severityNumber: SeverityNumber.WARN,
          severityText: "WARN",
          body: "disk almost full",
          attributes: { "disk.free": 0.05, mount: "/" },
          context: spanContext,
        },
        { severityNumber: SeverityNumber.ERROR2, body: { op: "charge", attempts: [1, 2] }, attributes: { "service.name": "override" } },
        { severityText: "debug", body: 42 },
        { severityNumber: SeverityNumber.FATAL4 },
      ],
      { "service.name": "checkout", "deployment.environment": "prod" },
    );
    for (const encoding of ["protobuf", "json"] as const) {
      const { logs, rejected } = decodeOtlpLogs(enc[encoding], encoding);
      expect(rejected.count).toBe(0);
      expect(logs).toHaveLength(4);
      expect(logs[0]).toEqual({
        timeMs: 1_700_000_000_123,
        level: "warn",
        message: "disk almost full",
        attributes: {
          "service.name": "checkout",
          "deployment.environment": "prod",
          "disk.free": 0.05,
          mount: "/",
          trace_id: TRACE_ID,
          span_id: SPAN_ID,
        },
      });
      // The SDK stamps timestamp = observed time = now when none is given.
      expect(Math.abs(logs[1]!.timeMs! - Date.now())).toBeLessThan(60_000);
      expect(logs[1]).toMatchObject({ level: "error", message: '{"op":"charge","attempts":[1,2]}' });
      expect(logs[1]!.attributes["service.name"]).toBe("override");
      expect(logs[1]!.attributes.trace_id).toBeUndefined();
      expect(logs[2]).toMatchObject({ level: "debug", message: "42" });
      expect(logs[3]).toMatchObject({ level: "fatal", message: "" });
    }
  });
});

describe("OTLP log severities and edge cases", () => {
  it("maps severityNumber ranges, then severityText, then info", () => {
    const expected = ["debug", "debug", "info", "warn", "error", "fatal"];
    for (let n = 1; n <= 24; n++) {
      const { logs } = decodeOtlpLogs(oneRecord({ severityNumber: n, severityText: "ERROR" }), "json");
      expect([n, logs[0]!.level]).toEqual([n, expected[Math.floor((n - 1) / 4)]]);
    }
    const level = (r: object) => decodeOtlpLogs(oneRecord(r), "json").logs[0]!.level;
    expect(level({ severityNumber: "SEVERITY_NUMBER_INFO2" })).toBe("info");
    expect(level({ severityNumber: 30 })).toBe("fatal");
    // proto3 JSON with unknown fields ignored (as OTLP asks) also ignores unknown enum names
    expect(level({ severityNumber: "LOUD", severityText: "warn" })).toBe("warn");
    expect(level({ severityText: "Warning" })).toBe("warn");
    expect(level({ severityText: " CRITICAL " })).toBe("fatal");
    expect(level({ severityText: "TRACE" })).toBe("debug");
    expect(level({ severityText: "loud" })).toBe("info");
    expect(level({})).toBe("info");
  });

  it("uses observed time when time is 0, and no time when neither is given", () => {
    const t = (r: object) => decodeOtlpLogs(oneRecord(r), "json").logs[0]!.timeMs;
    expect(t({ timeUnixNano: "0", observedTimeUnixNano: "1700000000999000000" })).toBe(1_700_000_000_999);
    expect(t({ timeUnixNano: "1700000000001000000", observedTimeUnixNano: "1700000000999000000" })).toBe(1_700_000_000_001);
    expect(t({})).toBeUndefined();
  });

  it("turns body AnyValues into text", () => {
    const msg = (body: object) => decodeOtlpLogs(oneRecord({ body }), "json").logs[0]!.message;
    expect(msg({ stringValue: 'plain "text"' })).toBe('plain "text"');
    expect(msg({ boolValue: true })).toBe("true");
    expect(msg({ intValue: "9223372036854775807" })).toBe("9223372036854775807"); // exact, beyond 2^53
    expect(msg({ doubleValue: 1.5 })).toBe("1.5");
    expect(msg({ kvlistValue: { values: [{ key: "a", value: { arrayValue: { values: [{ intValue: 1 }] } } }] } })).toBe('{"a":[1]}');
    expect(msg({})).toBe("");
  });

  it("refuses malformed requests with ProtocolError", () => {
    for (const [body, message] of [
      [oneRecord({ traceId: "not-hex!" }), /traceId "not-hex!" is not hex/],
      [oneRecord({ spanId: "abc" }), /spanId "abc" is not hex/],
      [oneRecord({ timeUnixNano: "soon" }), /invalid OTLP JSON/],
      [oneRecord({ body: { stringValue: 5 } }), /invalid OTLP JSON/],
      ['{"resourceLogs":[{"scopeLogs":[{"logRecords":{}}]}]}', /invalid OTLP JSON/],
      ["null", /invalid OTLP JSON/],
    ] as const) {
      expect(() => decodeOtlpLogs(body, "json")).toThrow(ProtocolError);
      expect(() => decodeOtlpLogs(body, "json")).toThrow(message);
    }
    expect(() => decodeOtlpLogs(new Uint8Array([0x0a, 0x80]), "protobuf")).toThrow(ProtocolError);
  });

  it("keeps hex ids written in upper case or snake_case", () => {
    const { logs } = decodeOtlpLogs(oneRecord({ trace_id: TRACE_ID.toUpperCase(), spanId: SPAN_ID }), "json");
    expect(logs[0]!.attributes).toMatchObject({ trace_id: TRACE_ID, span_id: SPAN_ID });
  });
});
