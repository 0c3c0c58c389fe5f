// X.509 for the cluster's trust: ECDSA P-256 keys, PKCS#10 requests and certificates, made with
// @peculiar/x509 on node's own WebCrypto (node can parse and verify certificates but not make
// them). Shared by the controller (its CA signs) and the agent (it asks to be signed).

// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API
// installed before the library loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

export { x509 };
export type { CryptoKey, CryptoKeyPair };

/** ECDSA on P-256 with SHA-256: what kubeadm and k3s make, and what every TLS peer here speaks. */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** A private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), as node:tls and kubectl read it. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A PKCS#8 PEM private key back as a signing key. */
export async function importPrivateKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), KEY_ALGORITHM, true, ['sign']);
}

/** A certificate request for `subject` ("CN=system:node:n1, O=system:nodes"), signed by its own key. */
export async function createCsr(keys: CryptoKeyPair, subject: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: SIGNING_ALGORITHM });
  return csr.toString('pem');
}
