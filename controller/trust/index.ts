// The controller's side of the cluster's trust: the certificate authority it makes on its first
// start and signs with (ca.ts). Imports proto/ only; the API layer serves TLS with it and signs
// the certificates of joining nodes and users.

export { openServiceAccountTokens, type ServiceAccountTokens, type BoundClaims } from './service-account-tokens';
export { openClusterCa, requestedSubject, CA_VALIDITY_DAYS, LEAF_VALIDITY_DAYS, type ClusterCa, type SharedCa, type ClientSubject, type IssuedCertificate } from './ca';
