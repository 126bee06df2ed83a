// Prometheus remote write 1.0: POST /api/dashboards/:id/prometheus/api/v1/write, so a
// prometheus.yml `remote_write` block with url https://<worker>/api/dashboards/<id>/prometheus/api/v1/write
// and `authorization: { credentials: <INGEST_TOKEN> }` works as it is (docs/ingest.md).
// Answers as Prometheus's queue expects: 204 when written; 4xx for anything the sender got
// wrong (Prometheus drops the batch and does not retry; the text body lands in its log);
// 429 with Retry-After over the point rate (retried); never a 5xx for bad input, since a 5xx is
// resent forever. All or nothing, like line protocol: a refused sample means nothing of the
// request is written. 401/403 are ingestAuth's JSON.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { retryAfterSeconds } from "../errors.ts";
import { ingestAuth } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import type { Refused } from "../../core/ingest/refusals.ts";
import { readBody } from "../protocols/body.ts";
import { ProtocolError, TooLarge } from "../protocols/points.ts";
import { decodeRemoteWrite, remoteWriteMediaProblem } from "../protocols/remote-write.ts";
import { maxCompressedLength } from "../protocols/snappy.ts";
import { mapPoints } from "../ingest/mapping.ts";
import { dashboardStub } from "../stubs.ts";

/** Remote write 2.0's count of what was stored; 1.0 senders ignore it, people and tests read it. */
const WRITTEN = "X-Prometheus-Remote-Write-Samples-Written";

function refusedText(refused: Refused): string {
  const count = refused.count === 1 ? "1 sample" : `${refused.count} samples`;
  return `${count} refused, nothing of this request was written: ${refused.reasons.join("; ")}`;
}

/** Mounted at /api/dashboards/:id/prometheus. */
export const prometheus = new Hono<AppEnv>().post("/api/v1/write", ingestAuth, async (c) => {
  const media = remoteWriteMediaProblem(c.req.header("Content-Type"), c.req.header("Content-Encoding"));
  if (media) {
    await c.req.raw.body?.cancel().catch(() => {});
    return c.text(media, 415);
  }
  const config = readConfig(c.env);
  let decoded;
  try {
    // The snappy block is read as it is, then inflated at most to the limit (protocols/snappy.ts).
    const block = await readBody(c.req.raw, "identity", maxCompressedLength(config.prometheusMaxBytes));
    decoded = decodeRemoteWrite(block, config.prometheusMaxBytes);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    if (e instanceof TooLarge) {
      const what =
        e.limitBytes === config.prometheusMaxBytes
          ? `${e.message} once decompressed (PROMETHEUS_MAX_BYTES)`
          : `the snappy body exceeds ${e.limitBytes} bytes, more than any block of PROMETHEUS_MAX_BYTES (${config.prometheusMaxBytes}) compresses to`;
      return c.text(`${what}; lower queue_config.max_samples_per_send`, 413);
    }
    return c.text(e.message, 400);
  }
  const dashboard = c.get("dashboard");
  const mapped = mapPoints(dashboard, decoded.points, { now: Date.now(), retentionSeconds: config.retentionSeconds });
  if (mapped.refused.count > 0) return c.text(refusedText(mapped.refused), 400);
  if (mapped.batches.length === 0) return c.body(null, 204, { [WRITTEN]: "0" });
  if (mapped.accepted > config.pointRate.burst) {
    return c.text(
      `${mapped.accepted} samples for this dashboard in one request; it takes at most ${config.pointRate.burst} at once (INGEST_POINTS_BURST): lower queue_config.max_samples_per_send`,
      413,
    );
  }
  const result = await dashboardStub(c.env, dashboard.id).publishPoints({ batches: mapped.batches, points: mapped.accepted, atomic: true });
  if ("retryAfterMs" in result) {
    const seconds = retryAfterSeconds(result.retryAfterMs);
    return c.text(
      `dashboard "${dashboard.id}" takes ${config.pointRate.perSecond} samples/s (INGEST_POINTS_PER_SECOND); nothing was written, retry in ${seconds} s`,
      429,
      { "Retry-After": String(seconds) },
    );
  }
  if (!result.published) return c.text(refusedText(result.refused), 400);
  return c.body(null, 204, { [WRITTEN]: String(mapped.accepted) });
});
