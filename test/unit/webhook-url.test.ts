// Where webhooks may go: public https only; never private, loopback, link-local, metadata or
// internal names, in any spelling the URL parser accepts; loopback http only when allowed.
import { describe, expect, it } from "vitest";
import { checkWebhookUrl } from "../../src/http/outbound-url";

const refused = (url: string, allowLoopback = false) => checkWebhookUrl(url, allowLoopback).ok === false;

describe("webhook URL checks", () => {
  it("accepts public https targets", () => {
    for (const url of ["https://example.com/hook", "https://hooks.example.com:8443/a?b=c", "https://93.184.216.34/", "https://[2606:4700::1111]/"]) {
      expect(checkWebhookUrl(url, false), url).toEqual({ ok: true, url: new URL(url).href });
    }
  });

  it("refuses private, loopback, link-local, CGNAT and metadata IPv4 addresses", () => {
    for (const host of ["10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.9.9", "192.168.1.1", "127.0.0.1", "127.8.9.10", "0.0.0.0", "169.254.169.254", "100.64.0.1", "224.0.0.1", "255.255.255.255"]) {
      expect(refused(`https://${host}/hook`), host).toBe(true);
    }
  });

  it("sees through decimal, hex, octal and short IPv4 spellings", () => {
    for (const host of ["2130706433", "0x7f000001", "0x7f.1", "017700000001", "127.1", "0xa9fea9fe", "2852039166", "0251.0376.0251.0376", "10.1"]) {
      expect(refused(`https://${host}/hook`), host).toBe(true);
    }
  });

  it("refuses loopback, unique-local, link-local, multicast and mapped IPv6 addresses", () => {
    for (const host of ["[::1]", "[::]", "[fc00::1]", "[fd12:3456::1]", "[fe80::1]", "[ff02::1]", "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:a00:1]", "[64:ff9b::a00:1]"]) {
      expect(refused(`https://${host}/hook`), host).toBe(true);
    }
  });

  it("refuses localhost and internal names, and URLs with credentials", () => {
    for (const url of ["https://localhost/", "https://LOCALHOST./", "https://api.localhost/", "https://metadata.google.internal/", "https://printer.local/", "https://metadata/", "https://user:pass@example.com/"]) {
      expect(refused(url), url).toBe(true);
    }
  });

  it("refuses plain http and other schemes, unless loopback is allowed and the target is loopback", () => {
    for (const url of ["http://example.com/hook", "http://10.0.0.1/hook", "ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "not a url"]) {
      expect(refused(url, true), url).toBe(true);
    }
    for (const url of ["http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://[::1]:9000/hook", "http://2130706433:9000/"]) {
      expect(refused(url, false), url).toBe(true);
      expect(refused(url, true), url).toBe(false);
    }
  });

  it("names the field the caller sent the URL in, so a sink's refusal says sink.url", () => {
    for (const url of ["not a url", "http://example.com/hook", "https://10.0.0.1/hook", "https://printer.local/"]) {
      const sink = checkWebhookUrl(url, false, "sink.url");
      expect(sink.ok ? "" : sink.message, url).toMatch(/^sink\.url /);
      const webhook = checkWebhookUrl(url, false);
      expect(webhook.ok ? "" : webhook.message, url).toMatch(/^webhook\.url /);
    }
  });
});
