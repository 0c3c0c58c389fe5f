// The controller's TLS: its serving certificate (and the CA after it, so that a joining agent can
// find the CA its token pins in the handshake), and the cluster CA to verify client certificates
// against. A client certificate is asked for but not required at the handshake: an agent joining
// with a token has none yet, and each call decides what its caller needs (auth/). A certificate
// that does not verify counts as none (grpc-js reports only verified peers).

import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '../trust';

type Provider = grpc.experimental.CertificateProvider;

/** Server credentials serving `serving` (with `caPem` after it in the chain), verifying clients against `caPem`. */
export function serverCredentials(caPem: string, serving: IssuedCertificate): grpc.ServerCredentials {
  const identity = { certificate: Buffer.from(`${serving.certPem.trim()}\n${caPem.trim()}\n`), privateKey: Buffer.from(serving.keyPem) };
  const ca = { caCertificate: Buffer.from(caPem) };
  // grpc-js reads the first update only after it has registered its own watcher: deliver it later.
  const provider: Provider = {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener(ca)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => queueMicrotask(() => listener(identity)),
    removeIdentityCertificateListener: () => undefined,
  };
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
