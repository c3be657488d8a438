// JSON mode: validate a body and split it into stored messages (a top-level array is flattened once).
import { fail, type Failure } from "../errors";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const encoder = new TextEncoder();

export function splitJsonMessages(body: Uint8Array, allowEmptyArray: boolean): Uint8Array[] | Failure {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return fail("bad_request", "body is not valid UTF-8 JSON");
  }
  if (!Array.isArray(value)) return [encoder.encode(JSON.stringify(value))];
  if (value.length === 0 && !allowEmptyArray) return fail("bad_request", "an empty JSON array appends nothing");
  return value.map((item: unknown) => encoder.encode(JSON.stringify(item)));
}
