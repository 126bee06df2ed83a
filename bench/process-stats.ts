// What the benchmark reads about a server process from /proc (Linux): CPU time and resident memory.
import { readFile } from "node:fs/promises";

/** User + system CPU time of `pid` so far, in ms (clock ticks of 10 ms). */
export async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set size of `pid`, in bytes. */
export async function rssOf(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}
