// One signed POST of a batch to a sink's receiver, bounded in time, and its outcome.
import { describeAnswer, describeFetchFailure } from "../fetch-failure";
import { signatureHeaders } from "./signing";
import { retryAfterMs } from "./retry";

/** A receiver gets this long to answer; longer counts as a failed attempt. */
export const SINK_REQUEST_TIMEOUT_MS = 10_000;

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export interface PostRequest {
  url: string;
  secret: string;
  webhookId: string;
  body: Uint8Array;
  contentType: string;
}

export interface PostOutcome {
  ok: boolean;
  /** The receiver's status; null when no answer came (network error, timeout). */
  status: number | null;
  latencyMs: number;
  error: string | null;
  /** From a Retry-After header (on 429, 503 or any failure), in ms. */
  retryAfterMs: number | null;
}

export async function postBatch(fetcher: Fetcher, request: PostRequest, now = Date.now()): Promise<PostOutcome> {
  const started = Date.now();
  try {
    const headers = await signatureHeaders(request.secret, request.webhookId, now, request.body);
    const response = await fetcher(request.url, {
      method: "POST",
      headers: { ...headers, "content-type": request.contentType },
      body: request.body,
      // A redirect could lead to an address the URL check refused: it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(SINK_REQUEST_TIMEOUT_MS),
    });
    // Only the status matters; the body is dropped unread.
    await response.body?.cancel().catch(() => undefined);
    const latencyMs = Date.now() - started;
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, latencyMs, error: null, retryAfterMs: null };
    return {
      ok: false,
      status: response.status,
      latencyMs,
      error: describeAnswer(response.status),
      retryAfterMs: retryAfterMs(response.headers.get("retry-after"), Date.now()),
    };
  } catch (error) {
    return { ok: false, status: null, latencyMs: Date.now() - started, error: describeFetchFailure(error, request.url, SINK_REQUEST_TIMEOUT_MS), retryAfterMs: null };
  }
}
