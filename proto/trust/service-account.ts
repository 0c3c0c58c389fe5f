// Service accounts as Kubernetes names them: the user a service account's token stands for, the
// groups it is in, where a pod finds its token, and the audience and issuer of the tokens.

export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
/** Where a pod's containers find token, ca.crt and namespace. */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The API's audience and the tokens' issuer, as a cluster's default. */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export const serviceAccountUser = (namespace: string, name: string): string => `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;
export const serviceAccountGroups = (namespace: string): string[] => [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
