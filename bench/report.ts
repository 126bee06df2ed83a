// What every benchmark writes: the machine it ran on, its raw figures in bench/results/, and its
// section of docs/BENCHMARKS.md (between <!-- name --> and <!-- /name -->).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";

export function machine() {
  const cpu = cpus();
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "?"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

export async function writeResults(name: string, data: unknown): Promise<void> {
  await mkdir("bench/results", { recursive: true });
  await writeFile(`bench/results/${name}.json`, JSON.stringify(data, null, 2) + "\n");
}

/** Replaces the section `name` of docs/BENCHMARKS.md, or appends it when it is not there yet. */
export async function writeSection(name: string, markdown: string): Promise<void> {
  const doc = await readFile("docs/BENCHMARKS.md", "utf8");
  const section = `<!-- ${name} -->\n${markdown.trim()}\n<!-- /${name} -->`;
  const re = new RegExp(`<!-- ${name} -->[\\s\\S]*<!-- /${name} -->`);
  await writeFile("docs/BENCHMARKS.md", re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`);
}
