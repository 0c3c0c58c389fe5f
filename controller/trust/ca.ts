// The cluster's certificate authority: made on the first controller's first start and kept in its
// data root (ca.crt, and ca.key readable by root alone) and in the store, so that a second
// controller on the same etcd serves and signs with the same one. It signs the controller's serving
// certificate and the client certificates of nodes and users. Nothing it signs copies a
// requester's words: a request only proves possession of its key, and the subject is the one the
// controller decided.
//
// Lifecycle: openClusterCa takes the store's CA when there is one; otherwise the data root's, or a
// new one, offered to the store (the first controller to offer wins, the others take the winner).
// Files are written under temporary names and renamed into place, the key first, so a crash leaves
// either no CA or a whole one.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { caPin } from '../../proto/trust';
import { generateKeyPair, importPrivateKey, privateKeyPem, SIGNING_ALGORITHM, x509, type CryptoKey } from '../../proto/trust/x509';

const DAY_MS = 24 * 3600 * 1000;
/** Ten years, as kubeadm's CA. */
export const CA_VALIDITY_DAYS = 3650;
/** One year, as kubeadm's serving and client certificates. */
export const LEAF_VALIDITY_DAYS = 365;
/** Certificates start a little in the past, so a peer whose clock is slightly behind accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface ClientSubject {
  /** The user: "system:node:n1", "alice". */
  commonName: string;
  /** The groups: ["system:nodes"]. */
  organizations: string[];
}

export interface ClusterCa {
  readonly certPem: string;
  /** "sha256:<hex>" of the CA's public key: what a join token carries. */
  readonly pin: string;
  /** A serving certificate (and its new key) for the controller's names and addresses. */
  issueServing(hosts: readonly string[], now?: Date): Promise<IssuedCertificate>;
  /**
   * A client certificate for the key in `csrPem`, naming `subject`. The request must be signed by
   * its key and ask for that same common name (a node asking to be another is refused).
   */
  signClient(csrPem: string, subject: ClientSubject, options?: { now?: Date; validityMs?: number }): Promise<string>;
  /** A client certificate and its new key, made here (the controller's own admin credential). */
  issueClient(subject: ClientSubject, options?: { now?: Date; validityMs?: number }): Promise<IssuedCertificate>;
}

/** The CA as the store keeps it, for every controller of the cluster. */
export interface SharedCa {
  read(): Promise<IssuedCertificate | undefined>;
  /** Store `ca` unless one is there already; returns the one stored. */
  offer(ca: IssuedCertificate): Promise<IssuedCertificate>;
}

export async function openClusterCa(dir: string, shared?: SharedCa, now = new Date()): Promise<ClusterCa> {
  const certFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'ca.key');
  const local = await readLocal(certFile, keyFile);
  let ca = (await shared?.read()) ?? local ?? (await makeCa(now));
  if (shared) ca = await shared.offer(ca);
  if (local && local.certPem !== ca.certPem) {
    throw new BerthError('failed-precondition', `the cluster CA in the store is not the one in ${certFile}: this data root belongs to another cluster (move ${dir}'s ca.crt and ca.key away to take the store's)`);
  }
  if (!local) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomically(keyFile, ca.keyPem, 0o600);
    await writeAtomically(certFile, ca.certPem, 0o644);
  }
  return new FileCa(new x509.X509Certificate(ca.certPem), await importPrivateKey(ca.keyPem));
}

async function readLocal(certFile: string, keyFile: string): Promise<IssuedCertificate | undefined> {
  const certPem = await readIfPresent(certFile);
  if (certPem === undefined) return undefined;
  const keyPem = await readIfPresent(keyFile);
  if (keyPem === undefined) throw new BerthError('failed-precondition', `cluster CA ${certFile} is there but its key ${keyFile} is not: restore it, or move both away to make a new CA`);
  return { certPem, keyPem };
}

class FileCa implements ClusterCa {
  readonly certPem: string;
  readonly pin: string;

  constructor(private readonly cert: x509.X509Certificate, private readonly key: CryptoKey) {
    this.certPem = cert.toString('pem');
    this.pin = caPin(this.certPem);
  }

  async issueServing(hosts: readonly string[], now = new Date()): Promise<IssuedCertificate> {
    if (hosts.length === 0) throw new BerthError('invalid-argument', 'a serving certificate needs at least one host name or address');
    const keys = await generateKeyPair();
    const names = hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
    const cert = await this.sign('CN=berth-controller', keys.publicKey, now, LEAF_VALIDITY_DAYS * DAY_MS, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ]);
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  }

  async signClient(csrPem: string, subject: ClientSubject, options: { now?: Date; validityMs?: number } = {}): Promise<string> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new BerthError('invalid-argument', `certificate request for ${subject.commonName}: not a PEM PKCS#10 request`, { cause: err });
    }
    if (!(await csr.verify())) throw new BerthError('invalid-argument', `certificate request for ${subject.commonName}: its signature does not match its key`);
    const asked = csr.subjectName.getField('CN');
    if (asked.length !== 1 || asked[0] !== subject.commonName) {
      throw new BerthError('permission-denied', `certificate request asks for ${asked.length ? `"${asked.join('", "')}"` : 'no common name'}, but the caller may only be "${subject.commonName}"`);
    }
    return this.signClientKey(csr.publicKey, subject, options);
  }

  async issueClient(subject: ClientSubject, options: { now?: Date; validityMs?: number } = {}): Promise<IssuedCertificate> {
    const keys = await generateKeyPair();
    return { certPem: await this.signClientKey(keys.publicKey, subject, options), keyPem: await privateKeyPem(keys.privateKey) };
  }

  private async signClientKey(publicKey: x509.PublicKey | CryptoKey, subject: ClientSubject, options: { now?: Date; validityMs?: number }): Promise<string> {
    const name = new x509.Name([{ CN: [subject.commonName] }, ...subject.organizations.map((o) => ({ O: [o] }))]).toString();
    const cert = await this.sign(name, publicKey, options.now ?? new Date(), options.validityMs ?? LEAF_VALIDITY_DAYS * DAY_MS, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
    return cert.toString('pem');
  }

  private async sign(subject: string, publicKey: x509.PublicKey | CryptoKey, now: Date, validityMs: number, extensions: x509.Extension[]): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject,
      issuer: this.cert.subject,
      publicKey,
      signingKey: this.key,
      signingAlgorithm: SIGNING_ALGORITHM,
      // A short-lived certificate is backdated less: its holder renews at a fraction of its life.
      notBefore: new Date(now.getTime() - Math.min(BACKDATE_MS, validityMs / 10)),
      notAfter: new Date(now.getTime() + validityMs),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // ECDSA keys sign; they never encipher a key, so digitalSignature alone.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
        ...extensions,
      ],
    });
  }
}

async function makeCa(now: Date): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=berth-ca@${Math.floor(now.getTime() / 1000)}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** 16 random bytes, the first bit clear: a positive serial, as RFC 5280 requires. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text, { mode, flush: true });
  await fs.rename(tmp, file);
}

/** The subject a PEM certificate request asks for (its CN and O), as a CSR signer reads it; invalid-argument when it is none. */
export function requestedSubject(csrPem: string): ClientSubject {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new BerthError('invalid-argument', 'not a PEM PKCS#10 certificate request', { cause: err });
  }
  const [commonName, ...more] = csr.subjectName.getField('CN');
  if (!commonName || more.length > 0) throw new BerthError('invalid-argument', 'the request must name exactly one common name (the user)');
  return { commonName, organizations: csr.subjectName.getField('O') };
}
