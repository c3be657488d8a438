// The Hono environment shared by every route.
import type { Context } from "hono";
import type { Caller } from "../auth/access";
import type { Env } from "../env";

export type AppEnv = { Bindings: Env; Variables: { caller: Caller } };
export type AppContext = Context<AppEnv>;
