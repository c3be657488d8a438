// Where the service may send a request of its own (webhooks, data sinks, issuers' JWKS). Only
// public https targets: never private, loopback, link-local, carrier-grade NAT, multicast or cloud
// metadata addresses, and no credentials in the URL. Plain http is allowed only to loopback, and
// only when WEBHOOK_ALLOW_LOOPBACK is on (local development).
// The WHATWG URL parser already turns decimal, hex and octal IPv4 forms (`2130706433`, `0x7f.1`)
// into dotted quads, so the checks below see canonical addresses. Names are not resolved here:
// Workers cannot reach private addresses through a public name in production.

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

/** Names that always mean this machine or a cloud's internal services. */
const INTERNAL_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /^metadata$/, /^instance-data$/];

/** Checks a receiver URL; `field` names it in the refusal (the body field the caller sent it in). */
export function checkWebhookUrl(raw: string, allowLoopback: boolean, field = "webhook.url"): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `${field} must be a valid absolute URL` };
  }
  if (url.username || url.password) return { ok: false, message: `${field} must not carry credentials` };
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (url.protocol === "http:") {
    if (allowLoopback && isLoopback(host)) return { ok: true, url: url.href };
    return { ok: false, message: allowLoopback ? `${field}: plain http is allowed only to loopback` : `${field} must use https` };
  }
  if (url.protocol !== "https:") return { ok: false, message: `${field} must use https` };
  if (INTERNAL_NAMES.some((name) => name.test(host))) return { ok: false, message: `${field} must not target internal host names` };
  const v4 = ipv4(host);
  if (v4 && !publicIpv4(v4)) return { ok: false, message: `${field} must not target private, loopback or link-local addresses` };
  if (host.startsWith("[") && !publicIpv6(host.slice(1, -1))) {
    return { ok: false, message: `${field} must not target private, loopback or link-local addresses` };
  }
  return { ok: true, url: url.href };
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost") || host === "[::1]") return true;
  const v4 = ipv4(host);
  return v4 !== null && v4[0] === 127;
}

function ipv4(host: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return null;
  const parts = match.slice(1).map(Number);
  return parts.every((part) => part <= 255) ? parts : null;
}

function publicIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  if (a === 0 || a === 10 || a === 127) return false; // "this" network, private, loopback
  if (a === 100 && b >= 64 && b <= 127) return false; // carrier-grade NAT
  if (a === 169 && b === 254) return false; // link-local, incl. 169.254.169.254 metadata
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF protocol assignments, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if (a === 198 && b === 51 && c === 100) return false; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return false; // TEST-NET-3
  return a < 224; // multicast, reserved and broadcast above
}

/** `address` is what the URL parser prints between brackets: compressed, lower-case hex. */
function publicIpv6(address: string): boolean {
  const groups = expandIpv6(address);
  if (!groups) return false;
  const [first = 0] = groups;
  if (groups.every((group, i) => (i < 7 ? group === 0 : group <= 1))) return false; // :: and ::1
  if ((first & 0xfe00) === 0xfc00) return false; // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false; // multicast
  if (first === 0x2001 && groups[1] === 0x0db8) return false; // documentation
  const embedded = embeddedIpv4(groups);
  return embedded === null || publicIpv4(embedded);
}

/** IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) addresses. */
function embeddedIpv4(groups: number[]): number[] | null {
  const mapped = groups.slice(0, 5).every((group) => group === 0) && (groups[5] === 0xffff || groups[5] === 0);
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (!mapped && !nat64) return null;
  const high = groups[6] ?? 0;
  const low = groups[7] ?? 0;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff];
}

function expandIpv6(address: string): number[] | null {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = ipv4(dotted[1]);
    if (!v4) return null;
    text = `${text.slice(0, -dotted[1].length)}${((v4[0] ?? 0) << 8 | (v4[1] ?? 0)).toString(16)}:${((v4[2] ?? 0) << 8 | (v4[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array<number>(Math.max(missing, 0)).fill(0), ...tail];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}
