// The Worker as Cloudflare would receive it: a dry-run deploy bundles it with the real
// wrangler.toml (bindings), wrangler reads the migrations and cron a deploy would apply from that
// file, and the committed Env types match it.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const run = promisify(execFile);

/** What this test reads of wrangler's config (its own type comes out as `any` under this tsconfig). */
interface DeployConfig {
  durable_objects: { bindings: { class_name: string }[] };
  migrations: {
    tag: string;
    new_classes?: string[];
    new_sqlite_classes?: string[];
    deleted_classes?: string[];
    renamed_classes?: object[];
  }[];
  triggers: { crons?: string[] };
}
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

describe("deploy", () => {
  it("wrangler deploy --dry-run bundles the Worker with its Durable Objects; the deploy config has their SQLite migrations and the cron", async () => {
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

      // A dry run neither asks for the migrations (a real deploy compares them with the ones
      // applied) nor deploys the triggers, so neither is in its output or its upload form: read
      // them as the deploy does, with wrangler's own reader of the same wrangler.toml.
      const config: DeployConfig = unstable_readConfig({ config: "wrangler.toml" });
      // Every Durable Object class the bundle exports is bound, and created by a migration as a
      // SQLite-backed class (the objects use ctx.storage.sql), never deleted or renamed later.
      const exportClause = [...bundle.matchAll(/export\{([^}]*)\}/g)].at(-1)![1]!;
      const exported = exportClause
        .split(",")
        .map((e) => e.split(" as ").at(-1)!.trim())
        .filter((name) => name !== "default");
      expect(exported.sort()).toEqual(["DashboardObject", "RelayObject"]);
      expect(config.durable_objects.bindings.map((b) => b.class_name).sort()).toEqual(exported);
      expect(config.migrations.map((m) => m.tag)).toEqual(["v1", "v2"]);
      expect(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []).sort()).toEqual(exported);
      for (const m of config.migrations) {
        expect(m.new_classes ?? []).toEqual([]);
        expect(m.deleted_classes ?? []).toEqual([]);
        expect(m.renamed_classes ?? []).toEqual([]);
      }
      // The cron that runs the publisher and the checks (worker/index.ts scheduled): every minute.
      expect(config.triggers.crons).toEqual(["* * * * *"]);
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
