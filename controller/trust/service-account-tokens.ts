// Service account tokens: short-lived JWTs (ES256) bound to an audience and to one pod, as
// Kubernetes' bound service account tokens. The signing key is made once and shared through the
// store (every controller signs and verifies with the same one), like the CA.
//
// verify() checks the signature, issuer, audience and expiry only; whether the pod the token is
// bound to still exists is the authenticator's question (auth/), which can read the store.

import { randomUUID } from 'node:crypto';
import { BerthError } from '../../proto/errors';
import { API_AUDIENCE } from '../../proto/trust';
import { generateKeyPair, privateKeyPem } from '../../proto/trust/x509';
import type { SharedCa, IssuedCertificate } from './ca';

/** The claims berth reads back from a token (Kubernetes' "kubernetes.io" private claim). */
export interface BoundClaims {
  /** system:serviceaccount:NS:NAME */
  sub: string;
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod: { name: string; uid: string };
  node?: string;
  exp: number;
}

export interface ServiceAccountTokens {
  issue(claims: Omit<BoundClaims, 'exp' | 'sub'>, options: { ttlSeconds: number; audience?: string; now?: Date }): Promise<{ token: string; expiresAt: Date }>;
  /** The token's claims, or UNAUTHENTICATED saying what is wrong with it. */
  verify(token: string, audience?: string): Promise<BoundClaims>;
}

const ALG = 'ES256';

/** Open the signing key: the store's, or a new one offered to it (SharedCa's contract, reused). */
export async function openServiceAccountTokens(shared: SharedCa): Promise<ServiceAccountTokens> {
  const jose = await import('jose');
  let pair = await shared.read();
  if (!pair) {
    const keys = await generateKeyPair();
    const spki = await jose.exportSPKI(keys.publicKey as never);
    pair = await shared.offer({ certPem: spki, keyPem: await privateKeyPem(keys.privateKey) } satisfies IssuedCertificate);
  }
  const privateKey = await jose.importPKCS8(pair.keyPem, ALG);
  const publicKey = await jose.importSPKI(pair.certPem, ALG);
  const kid = (await jose.calculateJwkThumbprint(await jose.exportJWK(publicKey))).slice(0, 16);

  return {
    async issue(claims, options) {
      const now = options.now ?? new Date();
      const iat = Math.floor(now.getTime() / 1000);
      const exp = iat + options.ttlSeconds;
      const token = await new jose.SignJWT({
        'kubernetes.io': {
          namespace: claims.namespace,
          serviceaccount: claims.serviceAccount,
          pod: claims.pod,
          ...(claims.node ? { node: { name: claims.node } } : {}),
        },
      })
        .setProtectedHeader({ alg: ALG, kid })
        .setIssuer(API_AUDIENCE)
        .setAudience(options.audience ?? API_AUDIENCE)
        .setSubject(`system:serviceaccount:${claims.namespace}:${claims.serviceAccount.name}`)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(privateKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async verify(token, audience = API_AUDIENCE) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jose.jwtVerify(token, publicKey, { issuer: API_AUDIENCE, audience, algorithms: [ALG] }));
      } catch (err) {
        const why = (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : `the token is not valid here: ${(err as Error).message}`;
        throw new BerthError('unauthenticated', why);
      }
      const k8s = payload['kubernetes.io'] as { namespace?: string; serviceaccount?: { name?: string; uid?: string }; pod?: { name?: string; uid?: string }; node?: { name?: string } } | undefined;
      if (!k8s?.namespace || !k8s.serviceaccount?.name || !k8s.pod?.name || !k8s.pod.uid) throw new BerthError('unauthenticated', 'the token is not bound to a pod');
      return {
        sub: String(payload.sub),
        namespace: k8s.namespace,
        serviceAccount: { name: k8s.serviceaccount.name, uid: k8s.serviceaccount.uid ?? '' },
        pod: { name: k8s.pod.name, uid: k8s.pod.uid },
        ...(k8s.node?.name ? { node: k8s.node.name } : {}),
        exp: Number(payload.exp),
      };
    },
  };
}
