// The Worker as Cloudflare would receive it: a dry-run deploy bundles it with the real
// wrangler.toml (bindings, migration, cron), and the committed Env types match that config.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

describe("deploy", () => {
  it("wrangler deploy --dry-run bundles the Worker with its Durable Object, migration and cron", async () => {
    const outdir = await mkdtemp(join(tmpdir(), "rtd-deploy-"));
    try {
      const { stdout } = await run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], { env, timeout: 120_000 });
      expect(stdout).toContain("env.DASHBOARD (DashboardObject)");
      expect(stdout).toContain("--dry-run: exiting now.");
      const files = await readdir(outdir);
      const bundle = await readFile(
        join(
          outdir,
          files.find((f) => f.endsWith(".js"))!,
        ),
        "utf8",
      );
      expect(bundle).toMatch(/export\{[^}]*\bas DashboardObject\b[^}]*\bas RelayObject\b[^}]*\bas default\}/);
      expect(bundle).toMatch(/async scheduled\(/);
      // What every cold start parses: at most 400 KiB, 150 KiB gzip (wrangler's own count).
      const [, raw, gzip] = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout) ?? [];
      expect(Number(raw)).toBeGreaterThan(50);
      expect(Number(raw)).toBeLessThanOrEqual(400);
      expect(Number(gzip)).toBeLessThanOrEqual(150);
      expect(Buffer.byteLength(bundle)).toBeLessThanOrEqual(400 * 1024);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });

  it("worker-configuration.d.ts is what `npm run types` generates from wrangler.toml", async () => {
    await expect(run("npx", ["wrangler", "types", "--strict-vars=false", "--check"], { env, timeout: 120_000 })).resolves.toBeDefined();
  });
});
