// ProjectDO: one per project (tenant). Holds its signing secrets, CORS origins and issuers (the auth
// providers whose tokens it accepts, issuers.ts), the open
// WebSockets its streams report (connections.ts), the sweeps that close the sockets of a revoked
// secret's, a token's or a user's tokens (revocations.ts, token-revocations.ts, the object's one alarm), and the project's stream registry for
// subscriptions and listings (registry.ts). Its creation is recorded in the deployment's project
// directory through its outbox (calls.ts). Secrets leave this object only to the Worker's
// token verifier and, once, to the admin who created them.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { WatcherSchema, WatchGlobSchema, type Watcher, type WatchGlob } from "../contract/subscriptions";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { SocketReportSchema, type ProjectConnections, type SocketReport } from "./connections";
import { CorsOriginsSchema } from "./cors-origins";
import { fail, type Failure } from "../errors";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { ProjectCallSchema, sendProjectCall, type ProjectCall } from "./calls";
import { MAX_PAGE, StreamKindSchema, type Page, type StreamKind } from "./listing";
import { IssuerSchema, IssuerStore, MAX_ISSUERS, type Issuer } from "./issuers";
import { StreamRegistry, type ListedStream } from "./registry";
import { ProjectRepository, type SigningKey } from "./repository";
import { Revocations } from "./revocations";
import { RevokedSchema, TokenRevocations, type Revoked, type RevokedTokens } from "./token-revocations";
import { PROJECT_MIGRATIONS } from "./schema";
import { formatRetention, parseRetention } from "../protocol/retention-policy";

/** At most this many signing secrets at once: enough for rotation, few enough to try each on verify. */
export const MAX_SECRETS = 5;

export interface ProjectView {
  project: string;
  createdAt: string;
  corsOrigins: string[];
  /** The retention policy of new streams that name none (canonical Stream-Retention), or null. */
  retention: string | null;
  secrets: { kid: string; createdAt: string }[];
}

/** What the Worker caches to authenticate requests and answer CORS for a project. */
export interface ProjectAuth {
  keys: { kid: string; secret: string }[];
  corsOrigins: string[];
  /** The default retention policy of its new streams (put.ts reads it from the same cache). */
  retention: string | null;
  /** The auth providers whose tokens the project accepts (issuers.ts). */
  issuers: Issuer[];
  /** Token ids and users whose tokens are refused (token-revocations.ts). */
  revoked: RevokedTokens;
}

export type TokenRevocation = { kind: "jti" | "user"; value: string; expiresAt: number };

const StreamNameSchema = z.string().min(1).max(128);
const GenerationSchema = z.number().int().min(0);
const StreamPageRequestSchema = z.object({ after: StreamNameSchema.nullable(), limit: z.number().int().min(1).max(MAX_PAGE) });

export type NewSecret = { ok: true; kid: string; secret: string } | Failure;

export class ProjectDO extends DurableObject<Env> {
  private readonly repo: ProjectRepository;
  private readonly registry: StreamRegistry;
  private readonly issuers: IssuerStore;
  private readonly revocations: Revocations;
  private readonly tokenRevocations: TokenRevocations;
  private readonly alarms: AlarmPlanner;
  private readonly outbox: Outbox<ProjectCall>;
  private schema!: LazySchema;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.repo = new ProjectRepository(ctx.storage.sql);
    this.registry = new StreamRegistry(ctx.storage.sql);
    this.issuers = new IssuerStore(ctx.storage.sql);
    this.revocations = new Revocations(this.repo, (stream, target) => this.closeSockets(stream, target));
    this.tokenRevocations = new TokenRevocations(ctx.storage.sql);
    this.outbox = new Outbox(ctx.storage, ProjectCallSchema, (call) => sendProjectCall(env, call), () => this.schema.exists);
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => (this.schema.exists ? this.revocations.nextDue() : null),
      () => (this.schema.exists ? this.tokenRevocations.nextExpiry() : null),
      () => this.outbox.nextDue(),
    ]);
    void ctx.blockConcurrencyWhile(async () => {
      this.schema = new LazySchema(ctx.storage, PROJECT_MIGRATIONS);
    });
  }

  async create(name: string, corsOrigins: string[]): Promise<NewSecret> {
    this.schema.ensure();
    if (this.repo.load()) return fail("conflict", "project already exists");
    const origins = CorsOriginsSchema.parse(corsOrigins);
    const createdAt = Date.now();
    const key = this.ctx.storage.transactionSync(() => {
      this.repo.save({ name, createdAt, corsOrigins: origins, retention: null });
      this.outbox.add([{ call: { kind: "listProject", project: name, createdAt } }]);
      return this.newKey();
    });
    this.alarms.plan();
    // Made now so the project is listed when the creation answers; the alarm retries a failure.
    await this.outbox.drain();
    this.alarms.plan();
    return { ok: true, kid: key.kid, secret: key.secret };
  }

  async addSecret(): Promise<NewSecret> {
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    if (this.repo.keys().length >= MAX_SECRETS) {
      return fail("conflict", `a project has at most ${MAX_SECRETS} secrets; revoke one first`);
    }
    const key = this.newKey();
    return { ok: true, kid: key.kid, secret: key.secret };
  }

  private newKey(): SigningKey {
    const key: SigningKey = { kid: `k_${randomToken(6)}`, secret: randomToken(32), createdAt: Date.now() };
    this.repo.addKey(key);
    return key;
  }

  /** Tokens it signed stop working, and the WebSockets opened with them close (revocations.ts). */
  async revokeSecret(kid: string): Promise<{ ok: true } | Failure> {
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    const removed = this.ctx.storage.transactionSync(() => {
      if (!this.repo.removeKey(kid)) return false;
      this.revocations.revoked({ kind: "kid", value: kid }, loadConfig(this.env).AUTH_CACHE_MS, Date.now());
      return true;
    });
    if (!removed) return fail("not_found", "no such secret");
    this.alarms.plan();
    return { ok: true };
  }

  /**
   * Tokens naming the jti or user are refused until `expiresAt`, and the sockets opened with them
   * close (the same sweeps as a revoked secret's).
   */
  async revokeTokens(input: TokenRevocation): Promise<{ ok: true } | Failure> {
    const target = RevokedSchema.parse({ kind: input.kind, value: input.value });
    const expiresAt = z.number().int().parse(input.expiresAt);
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    const now = Date.now();
    const added = this.ctx.storage.transactionSync(() => {
      if (!this.tokenRevocations.add(target, expiresAt, now)) return false;
      this.revocations.revoked(target, loadConfig(this.env).AUTH_CACHE_MS, now);
      return true;
    });
    if (!added) return fail("conflict", `a project has at most ${this.tokenRevocations.max} live revocations; wait for some to expire`);
    this.alarms.plan();
    return { ok: true };
  }

  async setCorsOrigins(corsOrigins: string[]): Promise<{ ok: true } | Failure> {
    const project = this.schema.exists ? this.repo.load() : null;
    if (!project) return fail("not_found", "project not found");
    this.repo.save({ ...project, corsOrigins: CorsOriginsSchema.parse(corsOrigins) });
    return { ok: true };
  }

  /** The default retention policy of new streams: a canonical Stream-Retention value, or null for none. */
  async setRetention(retention: string | null): Promise<{ ok: true } | Failure> {
    const project = this.schema.exists ? this.repo.load() : null;
    if (!project) return fail("not_found", "project not found");
    const parsed = retention === null ? null : parseRetention(retention);
    if (parsed && !parsed.ok) return fail("bad_request", parsed.message);
    this.repo.save({ ...project, retention: parsed ? formatRetention(parsed.policy) : null });
    return { ok: true };
  }

  /** Adds an issuer (replacing the one with the same iss); the route has checked its jwksUrl. */
  async addIssuer(input: Issuer): Promise<{ ok: true; issuer: Issuer } | Failure> {
    const issuer = IssuerSchema.parse(input);
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    if (!this.issuers.has(issuer.issuer) && this.issuers.count() >= MAX_ISSUERS) {
      return fail("conflict", `a project has at most ${MAX_ISSUERS} issuers; delete one first`);
    }
    this.issuers.save(issuer, Date.now());
    return { ok: true, issuer };
  }

  async listIssuers(): Promise<{ ok: true; issuers: Issuer[] } | Failure> {
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    return { ok: true, issuers: this.issuers.all() };
  }

  /** Its tokens stop working (within AUTH_CACHE_MS); sockets opened with them close at their expiry. */
  async removeIssuer(issuer: string): Promise<{ ok: true } | Failure> {
    if (!this.schema.exists || !this.repo.load()) return fail("not_found", "project not found");
    return this.issuers.remove(z.string().min(1).max(512).parse(issuer)) ? { ok: true } : fail("not_found", "no such issuer");
  }

  /** Public description: never includes secret values. */
  async describe(): Promise<ProjectView | null> {
    const project = this.schema.exists ? this.repo.load() : null;
    if (!project) return null;
    return {
      project: project.name,
      createdAt: new Date(project.createdAt).toISOString(),
      corsOrigins: project.corsOrigins,
      retention: project.retention,
      secrets: this.repo.keys().map((key) => ({ kid: key.kid, createdAt: new Date(key.createdAt).toISOString() })),
    };
  }

  /** From a stream's outbox, whenever its count changes; the latest report replaces the last. */
  async reportSockets(input: SocketReport): Promise<void> {
    const report = SocketReportSchema.parse(input);
    // A zero from a stream never counted here needs no storage (nor, for a probe, a schema).
    if (report.open === 0 && !this.schema.exists) return;
    this.schema.ensure();
    this.repo.saveSockets(report.stream, report.open);
  }

  /** Open WebSockets across the project's streams, without asking any stream. */
  async connections(): Promise<ProjectConnections> {
    return this.schema.exists ? this.repo.connections() : { webSockets: 0, streamsWithWebSockets: 0 };
  }

  /** A stream of this project was created: recorded with its kind; answers the subscriptions that watch it. */
  async registerStream(stream: string, generation: number, kind: StreamKind): Promise<Watcher[]> {
    const name = StreamNameSchema.parse(stream);
    const created = GenerationSchema.parse(generation);
    const made = StreamKindSchema.parse(kind);
    this.schema.ensure();
    return this.registry.addStream(name, created, made);
  }

  /**
   * A page of the project's streams, from the registry alone (no stream is asked). Not found when
   * the project was never created and no stream ever registered (a mistyped name).
   */
  async listStreams(input: { after: string | null; limit: number }): Promise<({ ok: true } & Page<ListedStream>) | Failure> {
    const { after, limit } = StreamPageRequestSchema.parse(input);
    if (!this.schema.exists || (!this.repo.load() && this.registry.isEmpty())) return fail("not_found", "project not found");
    return { ok: true, ...this.registry.listStreams(after, limit) };
  }

  async unregisterStream(stream: string, generation: number): Promise<void> {
    if (this.schema.exists) this.registry.removeStream(StreamNameSchema.parse(stream), GenerationSchema.parse(generation));
  }

  /** A subscription watches a glob of this project's streams; answers the existing streams it matches. */
  async addWatch(input: WatchGlob): Promise<string[]> {
    const watch = WatchGlobSchema.parse(input);
    this.schema.ensure();
    return this.registry.addWatch(watch);
  }

  /** Drops one glob of a subscription, or all of them (`glob` null). */
  async removeWatch(input: Watcher, glob: string | null): Promise<void> {
    const watcher = WatcherSchema.parse(input);
    if (this.schema.exists) this.registry.removeWatch(watcher, z.string().min(1).nullable().parse(glob));
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (this.schema.exists) {
      this.tokenRevocations.prune(Date.now());
      await this.revocations.run(Date.now());
    }
    await this.outbox.drain();
    this.alarms.plan();
  }

  private async closeSockets(stream: string, target: Revoked): Promise<void> {
    const project = this.repo.load();
    if (project) await streamStub(this.env, `${project.name}/${stream}`).closeRevokedSockets(target);
  }

  async auth(): Promise<ProjectAuth | null> {
    const project = this.schema.exists ? this.repo.load() : null;
    if (!project) return null;
    return {
      keys: this.repo.keys().map(({ kid, secret }) => ({ kid, secret })),
      corsOrigins: project.corsOrigins,
      issuers: this.issuers.all(),
      revoked: this.tokenRevocations.live(Date.now()),
      retention: project.retention,
    };
  }
}

function randomToken(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...data)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
