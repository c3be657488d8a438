// The reserved subscription APIs (`/v1/stream/__ds/...`) answer errors in the protocol's own
// vocabulary: the same wire shape as every other error here, `{"error":{"code","message"}}`, but
// with the protocol's upper-case codes, which its clients match on. One code list, one status map.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorCode } from "../errors";

export const DS_ERROR_CODES = [
  "INVALID_REQUEST",
  "WEBHOOK_URL_REJECTED",
  "UNAUTHORIZED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  "FORBIDDEN",
  "SUBSCRIPTION_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "SUBSCRIPTION_ALREADY_EXISTS",
  "FENCED",
  "ALREADY_CLAIMED",
  "NO_PENDING_WORK",
  "INVALID_OFFSET",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "INTERNAL_ERROR",
] as const;
export type DsErrorCode = (typeof DS_ERROR_CODES)[number];

const STATUS: Record<DsErrorCode, ContentfulStatusCode> = {
  INVALID_REQUEST: 400,
  WEBHOOK_URL_REJECTED: 400,
  UNAUTHORIZED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  SUBSCRIPTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SUBSCRIPTION_ALREADY_EXISTS: 409,
  FENCED: 409,
  ALREADY_CLAIMED: 409,
  NO_PENDING_WORK: 409,
  INVALID_OFFSET: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
};

/** The service's codes, as these routes say them (shared middleware throws the service's errors). */
const FROM_SERVICE: Partial<Record<ErrorCode, DsErrorCode>> = {
  bad_request: "INVALID_REQUEST",
  unauthorized: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  not_found: "SUBSCRIPTION_NOT_FOUND",
  method_not_allowed: "METHOD_NOT_ALLOWED",
  too_large: "PAYLOAD_TOO_LARGE",
  rate_limited: "RATE_LIMITED",
};

export function dsCodeOf(code: ErrorCode): DsErrorCode {
  return FROM_SERVICE[code] ?? "INTERNAL_ERROR";
}

export function dsStatusOf(code: DsErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

/** An expected failure of a subscription operation, as a value that survives RPC. */
export interface DsFailure {
  ok: false;
  code: DsErrorCode;
  message: string;
  /** Extra fields of the error object (ALREADY_CLAIMED names the holder and generation). */
  details?: { current_holder: string; generation: number };
}

export function dsFail(code: DsErrorCode, message: string, details?: DsFailure["details"]): DsFailure {
  return details ? { ok: false, code, message, details } : { ok: false, code, message };
}

/** Thrown by the __ds handlers; that sub-app's error handler turns it into the response. */
export class DsError extends Error {
  constructor(readonly failure: DsFailure) {
    super(failure.message);
  }
}

export const DsErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(DS_ERROR_CODES),
    message: z.string().optional(),
    current_holder: z.string().optional(),
    generation: z.number().int().optional(),
  }),
});

export function dsErrorResponse(failure: Omit<DsFailure, "ok">, headers: Record<string, string> = {}): Response {
  const body: z.infer<typeof DsErrorBodySchema> = { error: { code: failure.code, message: failure.message, ...failure.details } };
  return new Response(JSON.stringify(body), { status: STATUS[failure.code], headers: { ...headers, "Content-Type": "application/json" } });
}
