// The least a Worker and a SQLite-backed Durable Object can do for the benchmark's requests under
// wrangler dev: PUT creates a table, POST inserts the body as a row, HEAD reads the row count.
// No protocol, no validation. Its figures are the local platform's floor for ours to be read against.
import { DurableObject } from "cloudflare:workers";

export class Log extends DurableObject {
  create() {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (position INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  }

  append(data) {
    const sql = this.ctx.storage.sql;
    const tail = sql.exec("SELECT COALESCE(MAX(position), 0) AS tail FROM rows").one().tail;
    sql.exec("INSERT INTO rows (position, data) VALUES (?, ?)", tail + data.byteLength, data);
    return tail + data.byteLength;
  }

  tail() {
    return this.ctx.storage.sql.exec("SELECT COALESCE(MAX(position), 0) AS tail FROM rows").one().tail;
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith("/v1/stream/")) return new Response(null, { status: 404 });
    const log = env.LOG.get(env.LOG.idFromName(pathname));
    const headers = { "Stream-Next-Offset": "0" };
    switch (request.method) {
      case "PUT":
        await log.create();
        return new Response(null, { status: 201, headers });
      case "POST":
        headers["Stream-Next-Offset"] = String(await log.append(await request.arrayBuffer()));
        return new Response(null, { status: 204, headers });
      case "HEAD":
        headers["Stream-Next-Offset"] = String(await log.tail());
        return new Response(null, { status: 200, headers });
      default:
        return new Response(null, { status: 405 });
    }
  },
};
