// Presence settings as the service reads them from its vars: the defaults, the liveness check's
// "0 turns it off", and the presence log's retention in Stream-Retention's grammar.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";

describe("presence settings", () => {
  it("default to a 5 s grace, a 90 s ping deadline and a day (16 MiB) of presence log", () => {
    const config = loadConfig({});
    expect(config.PRESENCE_GRACE_MS).toBe(5_000);
    expect(config.PRESENCE_LIVENESS_MS).toBe(90_000);
    expect(config.PRESENCE_LOG_RETENTION).toEqual({ maxAgeSeconds: 86_400, maxBytes: 16_777_216 });
  });

  it("turn the liveness check off with 0, keep the whole log with none, and refuse what does not fit", () => {
    const config = loadConfig({ PRESENCE_LIVENESS_MS: "0", PRESENCE_LOG_RETENTION: "none" });
    expect(config.PRESENCE_LIVENESS_MS).toBe(0);
    expect(config.PRESENCE_LOG_RETENTION).toBeNull();
    expect(() => loadConfig({ PRESENCE_LIVENESS_MS: "500" })).toThrow(/PRESENCE_LIVENESS_MS/);
    expect(() => loadConfig({ PRESENCE_LOG_RETENTION: "max-age=soon" })).toThrow(/PRESENCE_LOG_RETENTION/);
  });
});
