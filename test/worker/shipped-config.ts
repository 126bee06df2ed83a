// The [vars] wrangler.toml ships, read from the file itself (workerd has no file system: Vite
// inlines it as text), for tests about what a deployment gets without overrides. The test
// projects' own bindings (vitest.config.ts) override some of them in `env`.
import { env } from "cloudflare:test";
import { parse } from "smol-toml";
import wranglerToml from "../../wrangler.toml?raw";

export const shippedVars = (parse(wranglerToml) as { vars: Record<string, unknown> }).vars;

/** `env` with every var as wrangler.toml ships it and no secrets: the bindings are kept. */
export function shippedEnv(): Env {
  const bindings = { DASHBOARD: env.DASHBOARD, RELAY: env.RELAY };
  return { ...bindings, ...shippedVars } as unknown as Env;
}
