// Types of `env` and `exports` from "cloudflare:workers" as the tests see them: the Worker's own.
import type { Env as WorkerEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("../../src/index");
    }
  }
}
