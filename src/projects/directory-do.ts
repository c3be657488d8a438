// ProjectDirectoryDO: the one object that knows every project of the deployment, so listing
// projects asks one object rather than every project's. Each ProjectDO records itself here, through
// its outbox, when it is created. One object for the deployment is enough: only the admin API
// writes and reads it, at the rate projects are created and listed.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Env } from "../env";
import { LazySchema } from "../storage/migrations";
import { DirectoryRepository, type ListedProject } from "./directory";
import { DIRECTORY_MIGRATIONS } from "./directory-schema";
import { MAX_PAGE, type Page } from "./listing";

const ProjectListedSchema = z.object({ project: z.string().min(1).max(128), createdAt: z.number().int().min(0) });
export type ProjectListed = z.infer<typeof ProjectListedSchema>;

const PageRequestSchema = z.object({ after: z.string().max(128).nullable(), limit: z.number().int().min(1).max(MAX_PAGE) });
export type PageRequest = z.infer<typeof PageRequestSchema>;

export class ProjectDirectoryDO extends DurableObject<Env> {
  private readonly repo: DirectoryRepository;
  private schema!: LazySchema;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.repo = new DirectoryRepository(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => {
      this.schema = new LazySchema(ctx.storage, DIRECTORY_MIGRATIONS);
    });
  }

  /** From a project's outbox once its creation committed. */
  async projectCreated(input: ProjectListed): Promise<void> {
    const listed = ProjectListedSchema.parse(input);
    this.schema.ensure();
    this.repo.add(listed.project, listed.createdAt);
  }

  async list(input: PageRequest): Promise<Page<ListedProject>> {
    const { after, limit } = PageRequestSchema.parse(input);
    return this.schema.exists ? this.repo.list(after, limit) : { items: [], next: null };
  }
}
