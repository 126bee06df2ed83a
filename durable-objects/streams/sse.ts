// SSE frame encoding. Frames are encoded once per event (per filter group) and the same bytes
// are enqueued to every stream, so this is the only place that builds wire text.

const encoder = new TextEncoder();

// Field values may not contain line breaks: a CR or LF inside `id:` or `event:` would end the
// field early and corrupt the frame. Data is split into one `data:` line per line instead.
const LINE_BREAK = /\r\n|\r|\n/;

export interface Frame {
  id?: string;
  event?: string;
  data: string;
}

export function encodeFrame(frame: Frame): Uint8Array {
  return encoder.encode(frameText(frame));
}

export function frameText({ id, event, data }: Frame): string {
  let text = "";
  if (id !== undefined) text += `id: ${singleLine("id", id)}\n`;
  if (event !== undefined) text += `event: ${singleLine("event", event)}\n`;
  // JSON.stringify never emits raw CR/LF, so payloads are one line; other data is split.
  for (const line of data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return text + "\n";
}

function singleLine(field: string, value: string): string {
  // The EventSource parser drops an `id` containing NUL; CR/LF would break the frame.
  if (LINE_BREAK.test(value) || value.includes("\0")) {
    throw new TypeError(`SSE ${field} must be a single line without NUL`);
  }
  return value;
}

export function retryFrame(ms: number): Uint8Array {
  return encoder.encode(`retry: ${Math.round(ms)}\n\n`);
}

/** A comment line: ignored by EventSource, keeps proxies (Cloudflare: 100 s idle) from closing. */
export const HEARTBEAT = encoder.encode(": heartbeat\n\n");

export const SSE_HEADERS: Record<string, string> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  // no-transform: Cloudflare and wrangler dev must not compress or buffer the stream.
  "Cache-Control": "no-cache, no-transform",
  // nginx and other reverse proxies in front of origin-style setups.
  "X-Accel-Buffering": "no",
};
