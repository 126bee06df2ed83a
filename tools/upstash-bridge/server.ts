// A small local stand-in for Upstash Redis's REST API, executing every command on a real
// redis-server through ioredis. It exists because Upstash cannot be reached from dev/CI
// machines; `@upstash/redis`, configured exactly as in production, must work against it
// unchanged. Protocol reference: https://upstash.com/docs/redis/features/restapi
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

export interface UpstashBridgeOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** The bearer token clients must present (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** Defaults to redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Deliberately unsupported: the bridge never rewrites keys, exactly like Upstash. */
  keyPrefix?: never;
}

export interface UpstashBridge {
  /** UPSTASH_REDIS_REST_URL, e.g. http://127.0.0.1:8079 */
  url: string;
  port: number;
  close(): Promise<void>;
}

type Arg = string | Buffer;
/** What ioredis hands back with the options below: Buffers for every string reply, decimal
 *  strings for integers (stringNumbers), null, nested arrays, and Errors inside EXEC replies. */
type Reply = null | string | Buffer | Error | Reply[];

/** An error the bridge answers itself, with Upstash's status code. */
class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

// Upstash's own wording, as its docs and users of real databases report it (these are not
// Redis messages). The 401 text is what Upstash returns today; until ~2023 it was "Unauthorized".
const UNAUTHORIZED =
  "WRONGPASS invalid or missing auth token. See https://docs.upstash.com/redis/troubleshooting/http_unauthorized for details.";
const notAvailable = (name: string) =>
  `ERR Command is not available: '${name.toUpperCase()}'. See https://upstash.com/docs/redis/overall/rediscompatibility for details`;
const notAllowed = (name: string) => `ERR Command "${name.toUpperCase()}" is not allowed in REST or it has a special context path`;

// Commands that change the state of a connection (Upstash: "Connection: only PING and ECHO",
// transactions only via /multi-exec, pub/sub and MONITOR on their own SSE paths). Here they
// would also corrupt the one connection every request shares, so they are refused.
const NOT_ALLOWED = new Set([
  "AUTH",
  "HELLO",
  "SELECT",
  "QUIT",
  "RESET",
  "CLIENT",
  "READONLY",
  "READWRITE",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "MONITOR",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "PSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SSUBSCRIBE",
  "SUNSUBSCRIBE",
]);
// Blocking commands are not offered over REST by Upstash; here they would stall every other
// request queued behind them on the shared connection.
const BLOCKING = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
  "SHUTDOWN",
  "SYNC",
  "PSYNC",
]);

function refusal(args: Arg[]): string | undefined {
  const name = args[0].toString().toUpperCase();
  if (NOT_ALLOWED.has(name)) return notAllowed(name);
  if (BLOCKING.has(name)) return notAvailable(name);
  const blockingRead = name === "XREAD" || name === "XREADGROUP";
  if (blockingRead && args.some((a) => a.toString().toUpperCase() === "BLOCK")) return notAvailable(name);
  return undefined;
}

/** Redis's reply errors pass through verbatim, except that an unknown command is reported
 *  the way Upstash reports it. */
function replyErrorMessage(err: Error, args: Arg[]): string {
  if (err.message.startsWith("ERR unknown command")) return notAvailable(args[0].toString());
  return err.message;
}

const isReplyError = (err: unknown): err is Error => err instanceof Error && err.name === "ReplyError";

/** JSON text for one reply. Hand-written rather than JSON.stringify so integers keep every
 *  digit (they arrive as decimal strings) and bulk strings can be base64-encoded. */
function encode(reply: Reply, base64: boolean, topLevel: boolean): string {
  if (reply === null || reply === undefined) return "null";
  if (typeof reply === "string") return /^-?\d+$/.test(reply) ? reply : JSON.stringify(reply);
  if (Buffer.isBuffer(reply)) {
    if (!base64) return JSON.stringify(reply.toString("utf8")); // invalid UTF-8 becomes U+FFFD, as on Upstash
    // Upstash leaves the bare "OK" reply unencoded, and the client relies on it (it
    // special-cases "OK" only at the top level; nested strings are always decoded).
    if (topLevel && reply.length === 2 && reply.toString() === "OK") return '"OK"';
    return `"${reply.toString("base64")}"`;
  }
  if (reply instanceof Error) return JSON.stringify(reply.message);
  return `[${reply.map((r) => encode(r, base64, false)).join(",")}]`;
}

const resultJson = (reply: Reply, base64: boolean) => `{"result":${encode(reply, base64, true)}}`;
const errorJson = (message: string) => JSON.stringify({ error: message });

/** One command from a JSON body: a non-empty array of strings, numbers or booleans
 *  (@upstash/redis sends numbers and booleans unquoted; Upstash stringifies them). */
function commandFromJson(value: unknown): Arg[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, 'ERR a command must be a non-empty JSON array: ["COMMAND", "arg1", ...]');
  }
  return value.map((v) => {
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw new HttpError(400, `ERR command arguments must be strings, numbers or booleans, got ${JSON.stringify(v)}`);
  });
}

function commandsFromJson(value: unknown): Arg[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, 'ERR the body must be a non-empty JSON array of commands: [["COMMAND", "arg1", ...], ...]');
  }
  return value.map(commandFromJson);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, `ERR failed to parse the request body as JSON: ${(err as Error).message}`);
  }
}

/** Upstash's URL form: /set/foo/bar?EX=100, with a POST body appended as the value (before
 *  the query parameters), e.g. POST /set/foo?EX=100 with body "bar". */
function commandFromPath(url: URL, body: Buffer): Arg[] {
  let args: Arg[];
  try {
    args = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, "ERR malformed percent-encoding in the URL path");
  }
  if (body.length > 0) args.push(body);
  for (const [key, value] of url.searchParams) {
    if (key === "_token") continue;
    args.push(key);
    if (value !== "") args.push(value);
  }
  if (args.length === 0) throw new HttpError(400, "ERR empty command");
  return args;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) });
  res.end(json);
}

/** "host:port" of a redis URL, without credentials, for messages. */
function redisAddress(redisUrl: string): string {
  try {
    const u = new URL(redisUrl);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return "redis";
  }
}

export async function startUpstashBridge(opts: UpstashBridgeOptions): Promise<UpstashBridge> {
  const host = opts.host ?? "127.0.0.1";
  const redisUrl = opts.redisUrl ?? "redis://127.0.0.1:6379";
  const address = redisAddress(redisUrl);

  const redis = new Redis(redisUrl, {
    // RESP2, like Upstash's REST replies: flat arrays for XINFO/HGETALL, scores as strings.
    protocol: 2,
    // Integers arrive as decimal strings: no precision loss, and they can be told apart from
    // bulk strings (which arrive as Buffers) when deciding what to base64-encode.
    stringNumbers: true,
    // Fail fast while redis is down instead of queueing requests until it comes back...
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // ...and never replay a command that may already have been applied (e.g. XADD *).
    autoResendUnfulfilledCommands: false,
    // A redis that accepts connections but does not answer must not hang requests either.
    commandTimeout: 5_000,
    connectTimeout: 2_000,
    // Keep reconnecting forever, quickly, so the bridge recovers when redis is restarted.
    retryStrategy: (times: number) => Math.min(times * 100, 1_000),
  });

  // Log an outage once, not on every reconnect attempt. The listener also keeps ioredis's
  // "error" events from crashing the process.
  let down = false;
  redis.on("error", (err: Error) => {
    if (down) return;
    down = true;
    console.warn(`[upstash-bridge] redis at ${address} is unreachable (${err.message}); answering 502 until it is back`);
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    console.warn(`[upstash-bridge] redis at ${address} is reachable again`);
  });

  // Give the first connection a moment so requests made right after start-up succeed, but
  // start anyway when redis is down (requests then fail fast with a 502).
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      redis.off("error", done);
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    redis.once("ready", done);
    redis.once("error", done);
  });

  /** A failure that is not a redis reply error: the upstream is down or stuck. */
  const upstreamError = (err: unknown): HttpError => {
    const message = err instanceof Error ? err.message : String(err);
    const timedOut = /timed out/i.test(message);
    return new HttpError(timedOut ? 504 : 502, `ERR redis-server at ${address} is unavailable: ${message}`);
  };

  /** Queue one command on the shared connection. The name is sent upper-cased because
   *  ioredis reshapes some replies by lower-case name (HGETALL into an object); upper case
   *  gets the raw reply, as Upstash sends it. */
  const call = (args: Arg[]): Promise<Reply> => {
    const [name, ...rest] = args;
    return redis.callBuffer(name.toString().toUpperCase(), ...rest) as Promise<Reply>;
  };

  async function single(args: Arg[], base64: boolean): Promise<[number, string]> {
    const refused = refusal(args);
    if (refused) throw new HttpError(400, refused);
    try {
      return [200, resultJson(await call(args), base64)];
    } catch (err) {
      if (isReplyError(err)) throw new HttpError(400, replyErrorMessage(err, args));
      throw upstreamError(err);
    }
  }

  /** /pipeline: not atomic; every command runs and gets its own {result} or {error}. The
   *  commands are queued in one synchronous loop so they reach redis in order. */
  async function pipeline(commands: Arg[][], base64: boolean): Promise<[number, string]> {
    const settled = await Promise.allSettled(
      commands.map((args) => {
        const refused = refusal(args);
        return refused ? Promise.reject(new HttpError(400, refused)) : call(args);
      }),
    );
    const items = settled.map((s, i) => {
      if (s.status === "fulfilled") return resultJson(s.value, base64);
      const err = s.reason;
      if (err instanceof HttpError) return errorJson(err.message);
      if (isReplyError(err)) return errorJson(replyErrorMessage(err, commands[i]));
      throw upstreamError(err); // redis is gone: the whole request fails, as on Upstash
    });
    return [200, `[${items.join(",")}]`];
  }

  /** /multi-exec: MULTI, the commands and EXEC are queued in one synchronous block on the
   *  shared connection, so no other request's command can land inside the transaction.
   *  Upstash semantics: a command that fails while running yields its own {error} and the
   *  others still run (as in Redis); a transaction that cannot be queued (unsupported
   *  command, wrong arity, ...) is discarded as a whole with a single {error}. */
  async function multiExec(commands: Arg[][], base64: boolean): Promise<[number, string]> {
    for (const args of commands) {
      const refused = refusal(args);
      if (refused) throw new HttpError(400, refused);
    }
    const queued = [call(["MULTI"]), ...commands.map(call), call(["EXEC"])];
    const settled = await Promise.allSettled(queued);
    const exec = settled[settled.length - 1];
    const failures = settled.filter((s) => s.status === "rejected").map((s) => (s as PromiseRejectedResult).reason);
    const upstream = failures.find((e) => !isReplyError(e));
    if (upstream) throw upstreamError(upstream);
    if (exec.status === "rejected") {
      // EXECABORT: report the queue-time error that caused it (the first one).
      const index = settled.slice(1, -1).findIndex((s) => s.status === "rejected");
      const cause = index >= 0 ? (settled[index + 1] as PromiseRejectedResult).reason : exec.reason;
      throw new HttpError(400, replyErrorMessage(cause as Error, index >= 0 ? commands[index] : ["EXEC"]));
    }
    const replies = exec.value as Reply[];
    const items = replies.map((r, i) => (r instanceof Error ? errorJson(replyErrorMessage(r, commands[i])) : resultJson(r, base64)));
    return [200, `[${items.join(",")}]`];
  }

  async function handle(req: IncomingMessage): Promise<[number, string]> {
    const method = req.method ?? "GET";
    if (!["GET", "HEAD", "POST", "PUT"].includes(method)) {
      throw new HttpError(405, "ERR method not allowed, use GET, HEAD, POST or PUT");
    }
    const url = new URL(req.url ?? "/", "http://bridge");
    const header = req.headers.authorization ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? url.searchParams.get("_token");
    if (bearer !== opts.token) throw new HttpError(401, UNAUTHORIZED);

    // Upstash can also answer in raw RESP2; @upstash/redis never asks for it, so neither do we.
    const format = String(req.headers["upstash-response-format"] ?? "json").toLowerCase();
    if (format !== "json") throw new HttpError(400, `ERR Upstash-Response-Format: ${format} is not supported by this bridge`);
    // The client always sends "Upstash-Encoding: base64"; without it replies are plain JSON.
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body = await readBody(req);
    const isPost = method === "POST" || method === "PUT";

    if (url.pathname === "/pipeline" || url.pathname === "/multi-exec") {
      if (!isPost) throw new HttpError(405, `ERR ${url.pathname} accepts POST only`);
      const commands = commandsFromJson(parseJson(body));
      return url.pathname === "/pipeline" ? pipeline(commands, base64) : multiExec(commands, base64);
    }
    if (url.pathname === "/" && isPost) return single(commandFromJson(parseJson(body)), base64);
    return single(commandFromPath(url, isPost ? body : Buffer.alloc(0)), base64);
  }

  const server = createServer((req, res) => {
    handle(req).then(
      ([status, json]) => send(res, status, json),
      (err: unknown) => {
        if (err instanceof HttpError) return send(res, err.status, errorJson(err.message));
        // The client gave up before sending its whole request (its own timeout): nobody to answer.
        if (req.destroyed && (err as NodeJS.ErrnoException)?.code === "ECONNRESET") return;
        console.error("[upstash-bridge] unexpected error", err);
        send(res, 500, errorJson(`ERR internal bridge error: ${(err as Error)?.message ?? err}`));
      },
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    redis.disconnect(); // e.g. the port is taken: do not leave a reconnecting client behind
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: async () => {
      // closeAllConnections: the client keeps HTTP connections alive, which would
      // otherwise hold server.close() open.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      redis.disconnect();
    },
  };
}
