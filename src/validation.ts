// Turns zod validation failures into the plain sentences a 400 carries: the field's path and the rule
// it broke ("`quorum` must be an integer from 1 to 1000000"), never zod's own wording. Every boundary
// that answers bad input parses through here, so every 400 reads the same way.
import { z } from "zod";
import { ApiError } from "./errors";

type RawIssue = z.core.$ZodRawIssue;

/**
 * The schema's value, or a 400 naming every broken rule. Messages a schema states itself (a refine's,
 * or `{ error }` on a check) win over these, because a per-parse error map ranks below them in zod.
 */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, subject = "the request body"): z.output<S> {
  const parsed = schema.safeParse(value, { error: plainErrorMap(subject) });
  if (!parsed.success) throw new ApiError("bad_request", joinIssues(parsed.error));
  return parsed.data;
}

/** The error map itself, for callers that report the failure some other way (a startup error). */
export function plainErrorMap(subject: string): z.core.$ZodErrorMap {
  return (issue) => plainIssue(issue, subject);
}

/** Every issue's message, in order, as one sentence list. */
export function joinIssues(error: z.core.$ZodError): string {
  return [...new Set(error.issues.map((issue) => issue.message))].join("; ");
}

/** One issue in plain words; `subject` names the value itself when the issue is at the top. */
export function plainIssue(issue: RawIssue, subject: string): string {
  const path = issue.path ?? [];
  const what = path.length ? `\`${pathText(path)}\`` : subject;
  // A missing field fails its type, its enum or its union; all of them mean the same to the caller.
  const absent = issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value" || issue.code === "invalid_union");
  if (absent) return `${what} is required`;
  switch (issue.code) {
    case "invalid_type":
      if (issue.expected === "int") return `${what} must be ${numberRule(issue.schema)}`;
      return `${what} must be ${noun(issue.expected)}, not ${kindOf(issue.input)}`;
    case "invalid_value":
      return issue.values.length === 1 ? `${what} must be ${literal(issue.values[0])}` : `${what} must be one of ${issue.values.map(literal).join(", ")}`;
    case "too_small":
    case "too_big":
      return `${what} must be ${sizeRule(issue)}`;
    case "unrecognized_keys":
      return `${what} has unknown ${issue.keys.length === 1 ? "field" : "fields"} ${issue.keys.map((key) => `\`${key}\``).join(", ")}`;
    case "invalid_format":
      return `${what} must be ${formatNoun(issue.format, issue.pattern)}`;
    case "not_multiple_of":
      return `${what} must be a multiple of ${String(issue.divisor)}`;
    case "invalid_union":
      return unionRule(issue, what);
    case "invalid_key":
    case "invalid_element":
      return `${what} holds an entry that is not valid`;
    default:
      return `${what} is not valid`;
  }
}

function pathText(path: PropertyKey[]): string {
  let text = "";
  for (const part of path) text += typeof part === "number" ? `[${part}]` : `${text ? "." : ""}${String(part)}`;
  return text;
}

const NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a JSON object",
  array: "an array",
  null: "null",
};

function noun(expected: string): string {
  return NOUNS[expected] ?? `a ${expected}`;
}

function kindOf(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (typeof input === "object") return "an object";
  if (typeof input === "number" && !Number.isFinite(input)) return String(input);
  return typeof input === "string" ? "a string" : typeof input === "number" ? "a number" : typeof input === "boolean" ? "true or false" : `a ${typeof input}`;
}

function literal(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

/** The whole rule of a number (both bounds and integrality), whichever part of it the value broke. */
function numberRule(schema: z.core.$ZodType | undefined): string {
  const number = schema instanceof z.ZodNumber ? schema : undefined;
  const int = number?.isInt ?? true;
  const kind = int ? "an integer" : "a number";
  // z.number().int() carries the safe-integer range as its bounds; those are not the field's rule.
  const min = number && Number.isFinite(number.minValue ?? NaN) && number.minValue !== Number.MIN_SAFE_INTEGER ? number.minValue : null;
  const max = number && Number.isFinite(number.maxValue ?? NaN) && number.maxValue !== Number.MAX_SAFE_INTEGER ? number.maxValue : null;
  if (min !== null && max !== null) return `${kind} from ${min} to ${max}`;
  if (min !== null) return `${kind} of at least ${min}`;
  if (max !== null) return `${kind} of at most ${max}`;
  return kind;
}

function sizeRule(issue: z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig>): string {
  if (issue.origin === "number" || issue.origin === "int") return numberRule(issue.schema);
  const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
  const exact = issue.code === "too_small" ? (issue.inclusive === false ? bound + 1 : bound) : issue.inclusive === false ? bound - 1 : bound;
  const unit = issue.origin === "string" ? "character" : "item";
  const limit = `${exact} ${unit}${exact === 1 ? "" : "s"}`;
  const string = issue.schema instanceof z.ZodString ? issue.schema : undefined;
  if (string?.minLength != null && string.maxLength != null) return `${string.minLength} to ${string.maxLength} ${unit}s`;
  if (issue.origin === "array" || issue.origin === "set") return issue.code === "too_small" ? `a list of at least ${limit}` : `a list of at most ${limit}`;
  return issue.code === "too_small" ? `at least ${limit}` : `at most ${limit}`;
}

const FORMATS: Record<string, string> = {
  url: "a URL",
  email: "an email address",
  uuid: "a UUID",
  datetime: "an ISO 8601 date-time",
  date: "an ISO 8601 date",
  base64: "base64 text",
  base64url: "base64url text",
};

function formatNoun(format: string, pattern: string | undefined): string {
  if (format === "regex" && pattern) return `text matching ${pattern}`;
  return FORMATS[format] ?? `a valid ${format}`;
}

function unionRule(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidUnion>, what: string): string {
  const options = "options" in issue && Array.isArray(issue.options) ? issue.options : undefined;
  if (options?.length) return `${what} must be one of ${options.map(literal).join(", ")}`;
  // Alternatives that differ only in type ("a string or a number") can be named; others cannot.
  const expected = issue.errors.map((alternative) => (alternative.length === 1 && alternative[0]?.code === "invalid_type" && alternative[0].path.length === 0 ? alternative[0].expected : null));
  if (expected.length && expected.every((e) => e !== null)) return `${what} must be ${expected.map((e) => noun(e ?? "")).join(" or ")}`;
  return `${what} does not match any accepted form`;
}
