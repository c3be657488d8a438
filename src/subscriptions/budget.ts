// How many calls to other objects one invocation of a SubscriptionDO may make in a loop: the tail
// refreshes of a claim, the tail checks of an answer's acks. The platform allows 10,000
// subrequests per invocation (PLATFORM.md, Workers Paid); this is a tenth of it, which leaves room
// for what else the same invocation may do (an outbox drain makes at most two calls for each of
// its 256 rows; a webhook wake is one POST and one signing-key call).
export const CALLS_PER_INVOCATION = 1_000;
