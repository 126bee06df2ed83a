// "$NAME" values: a key of DASHBOARDS that holds a credential (a dashboard's tokens, a
// notification target's) names a secret of the Worker's env instead of holding it, because
// DASHBOARDS is a plain [vars] value committed with wrangler.toml. One reader for all of them.
import { ConfigError } from "./values.ts";

const REF_RE = /^\$([A-Za-z_][A-Za-z0-9_]{0,99})$/;

/**
 * The secret that `value` ("$NAME") names, read from `env` and trimmed. `where` names the key in
 * every error; a literal value is refused without being repeated (it may be a pasted secret).
 */
export function secretRef(env: Env, value: unknown, where: string, minLength = 1): string {
  const name = typeof value === "string" ? REF_RE.exec(value)?.[1] : undefined;
  if (!name) {
    throw new ConfigError(
      `${where} must be "$NAME", the name of a secret set with \`wrangler secret put NAME\` (the value itself is not shown)`,
    );
  }
  const raw = (env as unknown as Record<string, unknown>)[name];
  const secret = typeof raw === "string" ? raw.trim() : "";
  if (!secret) throw new ConfigError(`${where} is "$${name}", but the secret ${name} is not set: npx wrangler secret put ${name}`);
  if (secret.length < minLength) throw new ConfigError(`${where}: the secret ${name} must be at least ${minLength} characters long`);
  return secret;
}
