// The Worker's bindings, generated from wrangler.toml into worker-configuration.d.ts (`npm run types`
// after changing the config). Each object's stub helper lives beside the object (`src/*/stub.ts`).
import type { FanoutJob } from "./contract/fanout";

// What the config cannot say: the queue's job type, and the one secret (not in wrangler.toml; unset, the
// admin API is off). Both generated interfaces get them, so `env` from "cloudflare:workers" agrees.
declare global {
  interface Env {
    FANOUT_QUEUE: Queue<FanoutJob>;
    ADMIN_TOKEN?: string;
  }
  namespace Cloudflare {
    interface Env {
      FANOUT_QUEUE: Queue<FanoutJob>;
      ADMIN_TOKEN?: string;
    }
  }
}

export type Env = globalThis.Env;
