// Pages Function: every /api/* request goes to the Worker through the `API` service binding
// (web/wrangler.toml), so the page and its API share one origin: relative URLs, no CORS, and
// EventSource works without credentials or preflights. Streams pass through untouched; when
// the browser goes away the runtime cancels the upstream response too.
interface Env {
  API: { fetch(request: Request): Promise<Response> };
}

export const onRequest = ({ request, env }: { request: Request; env: Env }): Promise<Response> => env.API.fetch(request);
