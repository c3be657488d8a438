// Runs the upstream Durable Streams server conformance suite against wrangler dev.
import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { inject } from "vitest";

runConformanceTests({ baseUrl: inject("baseUrl"), longPollTimeoutMs: 1000, subscriptions: true });
