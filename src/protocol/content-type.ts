// Content-type rules: compare by lowercased media type without parameters; JSON mode; SSE encoding.

export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

export function sameMediaType(a: string, b: string): boolean {
  return mediaType(a) === mediaType(b);
}

/** Streams created as application/json keep message boundaries and read back as one JSON array. */
export function isJsonMode(contentType: string): boolean {
  return mediaType(contentType) === "application/json";
}

/** SSE carries text and JSON as-is; every other type is base64 so arbitrary bytes survive. */
export function sseCarriesText(contentType: string): boolean {
  const type = mediaType(contentType);
  return type.startsWith("text/") || type === "application/json";
}
