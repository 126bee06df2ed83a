// The log panel's rules without a browser: control characters made visible, the text filter,
// and useLogs' cap, level filter, follow-mode snapshot, drops and summarised announcements.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope } from "vue";
import type { LogLevel, LogLine } from "../../contract/index.ts";
import { LOG_KEEP, LOG_ROWS, useLogs } from "../../web/src/composables/useLogs.ts";
import { inert, matchesText } from "../../web/src/lib/logs.ts";

describe("inert", () => {
  it("shows CR, LF, tab, ANSI escapes, other controls and bidi overrides as escapes, removing nothing", () => {
    expect(inert("a\u001b[31mred\u001b[0m\r\nb\tc")).toBe("a\\u001b[31mred\\u001b[0m\\r\\nb\\tc");
    expect(inert("\u0000\u0007\u007f\u0085")).toBe("\\u0000\\u0007\\u007f\\u0085");
    expect(inert("safe\u202eevil\u200b\ufeff")).toBe("safe\\u202eevil\\u200b\\ufeff");
    expect(inert("<b>plain</b> é ✓ 日本")).toBe("<b>plain</b> é ✓ 日本");
  });
});

describe("matchesText", () => {
  it("looks in the message and in attribute keys and values, case-insensitively (the needle is lower-cased)", () => {
    expect(matchesText("Payment TIMED out", undefined, "timed")).toBe(true);
    expect(matchesText("ok", { provider: "Acme" }, "acme")).toBe(true);
    expect(matchesText("ok", { retries: 3 }, "retries")).toBe(true);
    expect(matchesText("ok", { retries: 3 }, "4")).toBe(false);
    expect(matchesText("anything", undefined, "")).toBe(true);
  });
});

describe("useLogs", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const at = Date.now();
  const line = (i: number, level: LogLevel = "info", ms = at): LogLine => ({
    level,
    message: `line ${i}`,
    timestamp: new Date(ms).toISOString(),
  });
  const setup = () => {
    const scope = effectScope();
    return { logs: scope.run(() => useLogs())!, stop: () => scope.stop() };
  };
  const flush = () => vi.advanceTimersByTime(60); // no requestAnimationFrame in node: a 50 ms timer

  it("keeps LOG_KEEP lines and gives the DOM at most LOG_ROWS, the newest", () => {
    const { logs, stop } = setup();
    for (let i = 0; i < 3000; i++) logs.push(line(i), `${i}-0`);
    expect(logs.rows.value).toHaveLength(0); // nothing before the frame
    flush();
    expect(logs.matching.value).toHaveLength(LOG_KEEP);
    expect(logs.rows.value).toHaveLength(LOG_ROWS);
    expect(logs.rows.value.at(-1)).toMatchObject({ kind: "line", id: "2999-0" });
    stop();
  });

  it("filters by minimum level and text; a drop notice passes every filter", () => {
    const { logs, stop } = setup();
    (["debug", "info", "warn", "error", "fatal"] as const).forEach((level, i) => logs.push(line(i, level), null));
    logs.dropped({ count: 7, message: "7 log lines dropped: this viewer fell behind" });
    flush();
    logs.minLevel.value = "error";
    expect(logs.rows.value.map((e) => (e.kind === "line" ? e.line.level : e.kind))).toEqual(["error", "fatal", "dropped"]);
    logs.text.value = "LINE 4";
    expect(logs.rows.value.map((e) => (e.kind === "line" ? e.line.level : e.kind))).toEqual(["fatal", "dropped"]);
    stop();
  });

  it("freezes the rows while paused, counts what arrives, and shows it on resume", () => {
    const { logs, stop } = setup();
    for (let i = 0; i < 10; i++) logs.push(line(i), null);
    flush();
    logs.pause();
    logs.push(line(10), null);
    logs.push(line(11, "debug"), null);
    flush();
    expect(logs.rows.value).toHaveLength(10);
    expect(logs.newSincePause.value).toEqual({ count: 1, more: false }); // the debug one is filtered out
    logs.resume();
    expect(logs.following.value).toBe(true);
    expect(logs.rows.value).toHaveLength(11);
    stop();
  });

  it("announces errors and drops in one summary at most every 10 s, never ordinary lines or history", () => {
    const { logs, stop } = setup();
    logs.push(line(0, "error", at - 60_000), null); // replayed history
    for (let i = 1; i < 50; i++) logs.push(line(i, "info"), null);
    flush();
    vi.advanceTimersByTime(10_000);
    expect(logs.announcement.value).toBe("");
    logs.push(line(50, "error"), null);
    logs.push(line(51, "fatal"), null);
    flush();
    expect(logs.announcement.value).toBe("2 new error log lines, the first: line 50");
    logs.push(line(52, "error"), null);
    logs.dropped({ count: 3, message: "3 log lines dropped: this viewer fell behind" });
    flush();
    expect(logs.announcement.value).toBe("2 new error log lines, the first: line 50");
    vi.advanceTimersByTime(10_000);
    expect(logs.announcement.value).toBe("New error log line: line 52. 3 log lines dropped");
    stop();
  });
});
