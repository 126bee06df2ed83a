// The Durable Object stubs the Worker talks to (typed by Env; their interfaces are in core/rpc.ts).
import { relayName } from "../core/rpc.ts";

export function dashboardStub(env: Env, id: string) {
  return env.DASHBOARD.getByName(id);
}

/** Relay `i` of dashboard `id` (durable-objects/relay/relay.ts). */
export function relayStub(env: Env, id: string, i: number) {
  return env.RELAY.getByName(relayName(id, i));
}
