// The controller's side of the cluster's trust: the certificate authority it makes on its first
// start and signs with (ca.ts). Imports proto/ only; the API layer will use it to serve TLS and to
// sign the certificates of joining nodes and users.

export { openClusterCa, CA_VALIDITY_DAYS, LEAF_VALIDITY_DAYS, type ClusterCa, type ClientSubject, type IssuedCertificate } from './ca';
