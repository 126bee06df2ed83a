// Vitest globalSetup for the workers project: real HTTP receivers for the notification tests.
// `POST /hook/<name>` records the request (headers and the body as sent) and answers as the
// script for <name> says, one step per request, then 200:
//   "200" / "503" / "404" …   that status           "429:7"   429 with Retry-After: 7
//   "hang"                    never answers (until the receiver is closed)
//   "echo:400"                that status, its body repeating the URL it was sent to (as some services do)
// A test scripts a hook with `POST /script/<name>` (a JSON list of steps) and reads what it got
// with `GET /log/<name>`. The same hooks are served on a second port whose listener a test turns
// off and on (`POST /listener/off|on`): while it is off, connections to it are refused.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";
import "./provided-context.ts";

export interface Received {
  headers: Record<string, string>;
  body: string;
  /** Real time it arrived (ms). */
  at: number;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scripts = new Map<string, string[]>();
  const logs = new Map<string, Received[]>();
  const hung = new Set<ServerResponse>();

  const hook = (name: string, req: IncomingMessage, res: ServerResponse, body: string) => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    (logs.get(name) ?? logs.set(name, []).get(name)!).push({ headers, body, at: Date.now() });
    const step = scripts.get(name)?.shift() ?? "200";
    if (step === "hang") return void hung.add(res);
    if (step.startsWith("echo:")) {
      const url = `http://${req.headers.host}${req.url}`;
      return void res
        .writeHead(Number(step.slice(5)), { "Content-Type": "text/plain", Connection: "close" })
        .end(`no hook at ${url} (${req.url})`);
    }
    const [status, retryAfter] = step.split(":");
    // No keep-alive: a listener turned off must refuse the next attempt, not serve it on an old connection.
    res.writeHead(Number(status), {
      "Content-Type": "text/plain",
      Connection: "close",
      ...(retryAfter ? { "Retry-After": retryAfter } : {}),
    });
    res.end(Number(status) < 300 ? "ok" : `step ${step}`);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, control: boolean) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const url = req.url ?? "/";
      const hookName = /^\/hook\/([\w-]+)$/.exec(url)?.[1];
      if (req.method === "POST" && hookName) return hook(hookName, req, res, body);
      if (!control) return void res.writeHead(404).end();
      const scripted = /^\/script\/([\w-]+)$/.exec(url)?.[1];
      if (req.method === "POST" && scripted) {
        scripts.set(scripted, JSON.parse(body) as string[]);
        return void res.writeHead(204).end();
      }
      const logged = /^\/log\/([\w-]+)$/.exec(url)?.[1];
      if (req.method === "GET" && logged) {
        return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(logs.get(logged) ?? []));
      }
      const listener = /^\/listener\/(on|off)$/.exec(url)?.[1];
      if (req.method === "POST" && listener) return void switchTo(listener === "on").then(() => res.writeHead(204).end());
      res.writeHead(404).end();
    });
  };

  const listen = (server: Server, port = 0) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      for (const res of hung) res.destroy();
      hung.clear();
      server.closeAllConnections();
      server.close(() => resolve());
    });

  const main = createServer((req, res) => handle(req, res, true));
  let switchable = createServer((req, res) => handle(req, res, false));
  const mainPort = await listen(main);
  const switchPort = await listen(switchable);
  let listening = true;
  async function switchTo(on: boolean): Promise<void> {
    if (on === listening) return;
    listening = on;
    if (!on) return close(switchable);
    switchable = createServer((req, res) => handle(req, res, false));
    await listen(switchable, switchPort);
  }

  project.provide("notifyReceiverUrl", `http://127.0.0.1:${mainPort}`);
  project.provide("notifySwitchableUrl", `http://127.0.0.1:${switchPort}`);
  return async () => {
    await Promise.all([close(main), listening ? close(switchable) : undefined]);
  };
}
