// @ts-check
// Why a stream cannot be read from this page, asked over HTTP: a browser shows a refused WebSocket
// upgrade only as close 1006, with no status or body, so the console asks the same questions with
// requests whose answers it can read.

/**
 * `final`: retrying cannot fix it (the token, the stream or this page's origin must change first).
 * @typedef {{ ok: true, contentType: string } | { ok: false, final: boolean, message: string }} Diagnosis
 */

/** Statuses a retry cannot change: a bad request, a refused token, a missing stream. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 410]);

/**
 * Reads nothing (offset=now) with the token, which the server checks as it would the upgrade's, and
 * says why it refuses, with the server's JSON error.
 * @param {string} streamUrl @param {Record<string, string>} headers @returns {Promise<Diagnosis>}
 */
export async function probeRead(streamUrl, headers) {
  let response;
  try {
    response = await fetch(`${streamUrl}?offset=now`, { headers, cache: "no-store" });
  } catch (error) {
    return { ok: false, final: false, message: `GET ${streamUrl}: ${String(error)}` };
  }
  const body = await response.text();
  if (response.ok) return { ok: true, contentType: response.headers.get("Content-Type") ?? "application/octet-stream" };
  return { ok: false, final: FINAL_STATUSES.has(response.status), message: `${streamUrl}: ${response.status} ${errorText(body)}` };
}

/**
 * Whether the project lets this page's origin in. Same-origin GET and HEAD carry no Origin header,
 * so the server cannot judge them; an OPTIONS request carries it, and the server answers
 * Access-Control-Allow-Origin only for origins in the project's corsOrigins (or any, with auth off),
 * the same list that decides the upgrade. Under the Fetch standard a no-referrer policy (this
 * page's) sends such a request with `Origin: null`, hence the request's own policy.
 * @param {string} streamUrl @returns {Promise<Diagnosis | null>} null when the origin is allowed or it cannot tell.
 */
export async function probeOrigin(streamUrl) {
  let response;
  try {
    response = await fetch(streamUrl, { method: "OPTIONS", referrerPolicy: "same-origin", cache: "no-store" });
  } catch {
    return null; // the network, not a refusal: the client's retries are the right answer
  }
  await response.body?.cancel();
  const allowed = response.headers.get("Access-Control-Allow-Origin");
  if (allowed === "*" || allowed === location.origin) return null;
  const project = decodeURIComponent(new URL(streamUrl, location.href).pathname.split("/")[3] ?? "");
  return {
    ok: false,
    final: true,
    message: `this page's origin (${location.origin}) is not allowed for project ${project}: add it to the project's corsOrigins (PATCH /v1/admin/projects/${project})`,
  };
}

/**
 * Why a connection failed before it opened: the read's refusal if there is one, else the origin's.
 * @param {string} streamUrl @param {Record<string, string>} headers @returns {Promise<Diagnosis | null>}
 */
export async function diagnoseUpgrade(streamUrl, headers) {
  const read = await probeRead(streamUrl, headers);
  if (!read.ok) return read;
  return probeOrigin(streamUrl);
}

/** The server's `{"error":{"code","message"}}` as "code: message", or the body as it came. */
export function errorText(/** @type {string} */ body) {
  try {
    const { error } = JSON.parse(body);
    if (typeof error?.code === "string") return `${error.code}: ${error.message ?? ""}`;
  } catch {
    // Not JSON: show it as it came.
  }
  return body.slice(0, 200);
}
