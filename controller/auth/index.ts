// Who calls and what they may do: the identity a call's client certificate proves (identity.ts),
// the node rules (node-rules.ts), authorization of users' requests (authorizer.ts: the attributes
// and Kubernetes' refusal; rbac.ts: RBAC over cached roles and bindings; bootstrap-policy.ts: the
// roles a cluster starts with), and the bootstrap tokens agents join with (tokens.ts).
//
// Imports: cache/, objects/ and store/ below it, and proto/. The API handlers (api/) use it.

export * from './identity';
export * from './node-rules';
export * from './authorizer';
export { BootstrapTokens, DEFAULT_TOKEN_TTL_MS, TOKEN_PREFIX, type NewToken, type TokenRecord } from './tokens';
export { RbacAuthorizer, rbacDecision, ruleAllows, subjectMatches, type RbacPolicy } from './rbac';
export { ensureBootstrapPolicy, BOOTSTRAP_CLUSTER_ROLES, BOOTSTRAP_CLUSTER_ROLE_BINDINGS } from './bootstrap-policy';
export { authenticator, bearerToken, type Authenticate, type CallWithMetadata } from './authenticator';
