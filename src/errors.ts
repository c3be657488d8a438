// The project's error vocabulary: one union of codes, one status map, one wire shape.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

/** Every error code; the OpenAPI document lists them with their statuses. */
export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "gone",
  "too_large",
  "headers_too_large",
  "rate_limited",
  "too_many_sockets",
  "upgrade_required",
  "storage_full",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  too_many_sockets: 429,
  upgrade_required: 426,
  storage_full: 507,
  internal: 500,
};

/** An expected failure as a plain value, so it survives Durable Object RPC intact. */
export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** Protocol headers the failure must carry (e.g. Stream-Closed on a 409). */
  headers?: Record<string, string>;
  /** More fields of the error body (a trimmed read's earliest and tail offsets). */
  details?: Record<string, string>;
}

/** The one test for an expected failure in a Durable Object's answer (`ok` is false only on failures). */
export function isFailure(result: unknown): result is Failure {
  return typeof result === "object" && result !== null && "ok" in result && result.ok === false;
}

export function fail(code: ErrorCode, message: string, headers?: Record<string, string>, details?: Record<string, string>): Failure {
  const failure: Failure = headers ? { ok: false, code, message, headers } : { ok: false, code, message };
  if (details) failure.details = details;
  return failure;
}

/** Thrown by HTTP handlers; turned into a response by the app's single onError. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly details: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}, details?: Record<string, string>) {
    super(message);
    this.code = code;
    this.headers = headers;
    this.details = details;
  }

  static from(failure: Failure): ApiError {
    return new ApiError(failure.code, failure.message, failure.headers, failure.details);
  }
}

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

/** The wire shape of every error response (a read of trimmed data also names the offsets it may use). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    earliestOffset: z.string().optional().meta({ description: "gone (trimmed by retention): the first offset still stored" }),
    tailOffset: z.string().optional().meta({ description: "gone (trimmed by retention): the stream's tail" }),
  }),
});

export function errorResponse(
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  details: Record<string, string> = {},
): Response {
  const body: z.infer<typeof ErrorBodySchema> = { error: { ...details, code, message } };
  return new Response(JSON.stringify(body), {
    status: STATUS[code],
    headers: { ...headers, "Content-Type": "application/json" },
  });
}
