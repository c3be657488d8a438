// @ts-check
// The console's HTTP calls to this origin: the tokens it sends, stream addresses, and answers read
// as JSON with the server's error named ("401 unauthorized: admin token required").
import { errorText } from "./diagnose.js";

/** The tokens typed into the page; kept in memory only, never stored. */
export const tokens = { stream: "", admin: "" };

/**
 * @typedef {{ ok: true, status: number, data: any, headers: Headers }
 *   | { ok: false, status: number, message: string }} Answer
 */

/** @param {"stream" | "admin"} which @returns {Record<string, string>} */
export function authHeaders(which = "stream") {
  const token = tokens[which];
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * @param {string} method @param {string} path
 * @param {{ auth?: "stream" | "admin", body?: string, contentType?: string }} [options]
 * @returns {Promise<Answer>}
 */
export async function call(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...authHeaders(options.auth ?? "stream") };
  if (options.contentType) headers["Content-Type"] = options.contentType;
  let response;
  try {
    response = await fetch(path, { method, headers, body: options.body, cache: "no-store" });
  } catch (error) {
    return { ok: false, status: 0, message: `${method} ${path}: ${String(error)}` };
  }
  const text = await response.text();
  if (!response.ok) return { ok: false, status: response.status, message: `${response.status} ${errorText(text)}` };
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { ok: true, status: response.status, data, headers: response.headers };
}

/**
 * A stream address typed or listed: "orders" (the default project), "acme/orders", "/v1/stream/acme/orders"
 * or a full URL, as "project/stream" (the fan-out and connection routes read "x" as a project).
 * @param {string} typed @returns {{ project: string, stream: string, key: string } | null}
 */
export function parseAddress(typed) {
  const trimmed = typed.trim().replace(/^https?:\/\/[^/]+/, "").replace(/^\/?(v1\/stream\/)?/, "").replace(/\/+$/, "");
  const parts = trimmed.split("/");
  if (parts.length > 2 || parts.some((part) => part === "")) return null;
  const [project, stream] = parts.length === 2 ? parts : ["default", parts[0]];
  if (!project || !stream) return null;
  return { project, stream, key: `${project}/${stream}` };
}

/** @param {string} key "project/stream" @param {string} [prefix] */
export function addressPath(key, prefix = "/v1/stream") {
  return `${prefix}/${key.split("/").map(encodeURIComponent).join("/")}`;
}
