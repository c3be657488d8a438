// The Hono environment shared by every route.
import type { Context } from "hono";
import type { Caller } from "../auth/access";
import type { Env } from "../env";
import type { StreamAddress } from "../protocol/stream-address";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    caller: Caller;
    /** The stream the route's params name (http/address.ts); unset on routes without one. */
    address: StreamAddress;
    /** The project the route's params name, alone or as the stream's (http/address.ts); unset on routes without one. */
    project: string;
  };
};
export type AppContext = Context<AppEnv>;
