// The Durable Object stubs the Worker talks to.

export function dashboardStub(env: Env, id: string) {
  return env.DASHBOARD.getByName(id);
}

/** Relay `i` of dashboard `id` (see durable-objects/relay.ts). */
export function relayStub(env: Env, id: string, i: number) {
  return env.RELAY.getByName(`${id}:${i}`);
}
