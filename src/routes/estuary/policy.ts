// PUT /v1/estuary/policy/{project}/{stream} {"mode", "quorum"?}: how the source's committed offset
// is decided from its subscriptions (manage scope on the source). Answers the policy and the
// committed offset under it.
import { requireToken } from "../../auth/access";
import { setCommitPolicy } from "../../estuary/manage";
import type { AppContext } from "../../http/context";
import { formatOffset } from "../../protocol/offsets";
import { CommitPolicyBodySchema, readJson } from "./schemas";

export async function putCommitPolicy(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "manage");
  const policy = await readJson(c.req.raw, CommitPolicyBodySchema);
  const state = await setCommitPolicy(c.env, source, policy);
  return c.json({ policy: state.policy, committedOffset: formatOffset(state.committedPosition) });
}
