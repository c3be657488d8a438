// JSON mode: validate a body and split it into stored messages (a top-level array is flattened once).
// Messages keep their literals exactly as sent (big integers, 1e400, escapes); only whitespace
// between tokens is dropped, so re-serialising can never change a value.
import { fail, type Failure } from "../errors";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const encoder = new TextEncoder();

export function splitJsonMessages(body: Uint8Array, allowEmptyArray: boolean): Uint8Array[] | Failure {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(body);
    value = JSON.parse(text);
  } catch {
    return fail("bad_request", "body is not valid UTF-8 JSON");
  }
  const compact = minify(text);
  if (!Array.isArray(value)) return [encoder.encode(compact)];
  if (value.length === 0 && !allowEmptyArray) return fail("bad_request", "an empty JSON array appends nothing");
  return arrayElements(compact).map((element) => encoder.encode(element));
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

/** Drops whitespace outside strings from valid JSON text. */
export function minify(text: string): string {
  const parts: string[] = [];
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (WHITESPACE.has(char as string)) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.join("");
}

/** The top-level elements of a minified JSON array, as text. */
function arrayElements(array: string): string[] {
  const elements: string[] = [];
  let depth = 0;
  let start = 1;
  let inString = false;
  for (let i = 1; i < array.length - 1; i++) {
    const char = array[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === "[" || char === "{") {
      depth++;
    } else if (char === "]" || char === "}") {
      depth--;
    } else if (char === "," && depth === 0) {
      elements.push(array.slice(start, i));
      start = i + 1;
    }
  }
  if (array.length > 2) elements.push(array.slice(start, array.length - 1));
  return elements;
}
