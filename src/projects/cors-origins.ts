// A project's allowed browser origins: validated by the admin routes and again by the ProjectDO.
// Its own module so the HTTP side can use it without loading the Durable Object class.
import { z } from "zod";

export const CorsOriginsSchema = z.array(z.url().max(200)).max(50);
