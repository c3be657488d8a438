// Reads a request body into memory, refusing anything larger than the limit with 413.
import { concatBytes } from "../bytes";
import { ApiError } from "../errors";

export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("too_large", `request body exceeds the ${limit}-byte limit`);
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);

  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    parts.push(value);
  }
  return concatBytes(parts);
}
