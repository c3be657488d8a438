// What a token may do: the scopes every part of the service names (tokens, issuers, routes).
export const SCOPES = ["read", "write", "manage"] as const;
export type Scope = (typeof SCOPES)[number];
