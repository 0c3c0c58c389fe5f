// The CSR signer loop: signs what ./plan.ts says with the cluster's CA and writes the certificate
// into the request's status; a request the CA cannot sign (a bad signature, no common name) is
// marked Failed with the reason, as Kubernetes' signer does.

import type { CertificateSigningRequest } from '../../../proto/resources';
import type { ClientSubject } from '../../trust';
import { splitKey, writeStatusIfUnchanged, type ControlLoop } from '../run-controller';
import { decide } from './plan';

/** Signs a request for a subject (the cluster CA's signClient), resolving with the certificate's PEM. */
export type ClientSigner = (requestPem: string, validityMs: number) => Promise<{ certificatePem: string } | { failure: string }>;

export function csrSigningLoop(sign: ClientSigner): ControlLoop {
  return {
    workers: 1,
    watch(caches, enqueue) {
      caches.certificateRequests.onChange((_type, obj) => enqueue(obj.metadata.name ?? ''));
    },
    async reconcile(ctx, key, written) {
      const [, name] = splitKey(key);
      const csr = ctx.caches.certificateRequests.get(undefined, name);
      if (!csr) return;
      const decision = decide(csr);
      if (decision.type !== 'sign') return;
      const result = await sign(decision.requestPem, decision.validityMs);
      const now = ctx.clock().toISOString();
      const status: NonNullable<CertificateSigningRequest['status']> = 'certificatePem' in result
        ? { ...csr.status, certificate: Buffer.from(result.certificatePem).toString('base64') }
        : { ...csr.status, conditions: [...(csr.status?.conditions ?? []), { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: result.failure, lastTransitionTime: now, lastUpdateTime: now }] };
      await writeStatusIfUnchanged(ctx, ctx.caches.certificateRequests, written, csr, status);
    },
  };
}

/** The signer over the cluster CA: the subject the request asks for, as Kubernetes' client signer signs it. */
export function caSigner(ca: { signClient(csrPem: string, subject: ClientSubject, options?: { validityMs?: number }): Promise<string> }, subjectOf: (pem: string) => ClientSubject): ClientSigner {
  return async (requestPem, validityMs) => {
    try {
      const subject = subjectOf(requestPem);
      // Kubernetes' CertificateSubjectRestriction, again where it matters: never a cluster-admin.
      if (subject.organizations.includes('system:masters')) return { failure: 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed' };
      return { certificatePem: await ca.signClient(requestPem, subject, { validityMs }) };
    } catch (err) {
      return { failure: (err as Error).message };
    }
  };
}
