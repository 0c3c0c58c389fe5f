// The CSR signer's decision, pure (Kubernetes' csrsigning controller for the signers berth runs):
// an approved, not denied or failed, kubernetes.io/kube-apiserver-client request without a
// certificate is signed, for as long as it asked (expirationSeconds) within the signer's year.

import { CLIENT_SIGNER, type CertificateSigningRequest } from '../../../proto/resources';

/** The signer's longest certificate (the kube-controller-manager's --cluster-signing-duration default). */
export const MAX_SIGNING_MS = 365 * 24 * 3600 * 1000;

export type CsrDecision =
  | { type: 'none' }
  | { type: 'sign'; requestPem: string; validityMs: number };

export function decide(csr: CertificateSigningRequest): CsrDecision {
  if (csr.spec.signerName !== CLIENT_SIGNER || csr.status?.certificate) return { type: 'none' };
  const has = (type: string) => csr.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
  if (!has('Approved') || has('Denied') || has('Failed')) return { type: 'none' };
  const asked = csr.spec.expirationSeconds !== undefined ? csr.spec.expirationSeconds * 1000 : MAX_SIGNING_MS;
  return { type: 'sign', requestPem: Buffer.from(csr.spec.request, 'base64').toString('utf8'), validityMs: Math.min(asked, MAX_SIGNING_MS) };
}
