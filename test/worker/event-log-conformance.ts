// The behaviour every EventLog implementation must have. Run against the SQLite log here and
// against the Upstash log (real Redis behind the Upstash protocol) in its own suite.
import { expect, it } from "vitest";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";

export function eventLogConformance(make: () => Promise<EventLog>): void {
  const entry = (id: string, n = 0): LogEntry => ({ id, event: "metric-update", data: JSON.stringify({ n, text: "é\r\n🔥" }) });

  it("reads back exactly what was appended, in id order", async () => {
    const log = await make();
    expect(await log.lastId()).toBeNull();
    const entries = [entry("1000-0", 1), entry("1000-1", 2), entry("1001-0", 3)];
    await log.append(entries);
    expect(await log.readAfter("0-0", 10)).toEqual(entries);
    expect(await log.lastId()).toBe("1001-0");
  });

  it("reads after an id exclusively, also within one millisecond", async () => {
    const log = await make();
    await log.append([entry("2000-0"), entry("2000-1"), entry("2000-2"), entry("2001-0")]);
    expect((await log.readAfter("2000-1", 10)).map((e) => e.id)).toEqual(["2000-2", "2001-0"]);
    expect((await log.readAfter("2001-0", 10)).map((e) => e.id)).toEqual([]);
    expect((await log.readAfter("1999-5", 10)).map((e) => e.id)).toEqual(["2000-0", "2000-1", "2000-2", "2001-0"]);
  });

  it("pages: a limit caps a read and the next read continues after the last id", async () => {
    const log = await make();
    const ids = Array.from({ length: 25 }, (_, i) => `${3000 + Math.floor(i / 3)}-${i % 3}`);
    await log.append(ids.map((id) => entry(id)));
    const seen: string[] = [];
    let after = "0-0";
    for (;;) {
      const page = await log.readAfter(after, 7);
      seen.push(...page.map((e) => e.id));
      if (page.length < 7) break;
      after = page[page.length - 1]!.id;
    }
    expect(seen).toEqual(ids);
  });

  it("reads a time range by the millisecond part of the id", async () => {
    const log = await make();
    await log.append([entry("4000-0"), entry("4500-0"), entry("4500-1"), entry("5000-0")]);
    expect((await log.readSince(4500, 10)).map((e) => e.id)).toEqual(["4500-0", "4500-1", "5000-0"]);
    expect((await log.readSince(4500, 2)).map((e) => e.id)).toEqual(["4500-0", "4500-1"]);
    expect(await log.readSince(6000, 10)).toEqual([]);
  });

  it("reads back from before an id (or from the newest), newest first, in pages", async () => {
    const log = await make();
    expect(await log.readBefore(null, 5)).toEqual([]);
    const ids = Array.from({ length: 25 }, (_, i) => `${5000 + Math.floor(i / 3)}-${i % 3}`);
    await log.append(ids.map((id, n) => entry(id, n)));
    expect((await log.readBefore(null, 2)).map((e) => e.id)).toEqual([ids[24], ids[23]]);
    expect((await log.readBefore("5001-1", 10)).map((e) => e.id)).toEqual(["5001-0", "5000-2", "5000-1", "5000-0"]);
    expect(await log.readBefore("5000-0", 10)).toEqual([]);
    expect((await log.readBefore("9999-0", 1))[0]).toEqual(entry(ids[24]!, 24));
    const seen: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: LogEntry[] = await log.readBefore(before, 7);
      seen.push(...page.map((e) => e.id));
      if (page.length < 7) break;
      before = page[page.length - 1]!.id;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it("trims entries older than a time and remembers the newest id it removed", async () => {
    const log = await make();
    expect(await log.trimmedThrough()).toBeNull();
    await log.append([entry("6000-0"), entry("6000-1"), entry("7000-0"), entry("8000-0")]);
    await log.trim(7000);
    expect((await log.readAfter("0-0", 10)).map((e) => e.id)).toEqual(["7000-0", "8000-0"]);
    expect(await log.trimmedThrough()).toBe("6000-1");
    await log.trim(7000); // nothing more to remove: the marker stays
    expect(await log.trimmedThrough()).toBe("6000-1");
  });
}
