// The Hono environment shared by every route.
import type { Context } from "hono";
import type { Env } from "../env";

export type AppEnv = { Bindings: Env };
export type AppContext = Context<AppEnv>;
