// The node's identity: a client certificate for system:node:NAME, its key and the cluster CA, kept
// in <data root>/pki (the key 0600). On the first start the agent has only a join token: it pins
// the CA the token names in a first TLS handshake (the controller sends the CA after its serving
// certificate; the one whose public key hashes to the token's pin is taken, any other refused, as
// kubeadm's --discovery-token-ca-cert-hash), makes a key pair, and trades the token and a request
// for the key for a certificate. Later starts use the certificate; the link renews it before it
// expires (renewalDue).

import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { BerthError, codeOfGrpcStatus } from '../../proto/errors';
import { loadClusterApi, type NodeClient } from '../../proto/grpc';
import { caPin, nodeUser, parseJoinToken } from '../../proto/trust';
import type { NodeConfig } from './types';

export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const FILES = { ca: 'ca.crt', cert: 'node.crt', key: 'node.key' } as const;

/** The validity of a certificate, from its PEM. */
export function validity(certPem: string): { notBefore: number; notAfter: number; subject: string } {
  const cert = new X509Certificate(certPem);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo), subject: cert.subject };
}

/** When to renew: two thirds into the certificate's life (the kubelet renews at 70-90 %). */
export function renewalDue(certPem: string): number {
  const { notBefore, notAfter } = validity(certPem);
  return notBefore + ((notAfter - notBefore) * 2) / 3;
}

export async function readCredentials(dir: string): Promise<NodeCredentials | undefined> {
  try {
    const [caPem, certPem, keyPem] = await Promise.all([FILES.ca, FILES.cert, FILES.key].map((f) => fs.readFile(path.join(dir, f), 'utf8')));
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Key first, certificate last, each renamed into place: a crash leaves the old pair or the new one usable. */
export async function saveCredentials(dir: string, c: NodeCredentials): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const write = async (name: string, text: string, mode: number) => {
    const file = path.join(dir, name);
    await fs.writeFile(`${file}.tmp`, text, { mode, flush: true });
    await fs.rename(`${file}.tmp`, file);
  };
  await write(FILES.ca, c.caPem, 0o644);
  await write(FILES.key, c.keyPem, 0o600);
  await write(FILES.cert, c.certPem, 0o644);
}

/** Channel credentials that verify the controller against the cluster CA and present the node's certificate. */
export function channelCredentials(c: NodeCredentials): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(c.caPem), Buffer.from(c.keyPem), Buffer.from(c.certPem));
}

/**
 * The node's credentials: the ones kept in `dir` when they are this node's and still valid,
 * otherwise a join with `token`. Without either, an error that says what to give.
 */
export async function nodeCredentials(config: NodeConfig, dir: string, token: string | undefined, now = Date.now()): Promise<{ credentials: NodeCredentials; joined: boolean }> {
  const kept = await readCredentials(dir);
  let why = `node ${config.nodeName} has no certificate in ${dir}`;
  if (kept) {
    const { notAfter, subject } = validity(kept.certPem);
    const expected = `CN=${nodeUser(config.nodeName)}`;
    if (!subject.split('\n').includes(expected)) why = `the certificate in ${dir} is for ${subject.split('\n').find((l) => l.startsWith('CN=')) ?? 'another identity'}, not ${expected}`;
    else if (notAfter <= now) why = `the certificate in ${dir} expired at ${new Date(notAfter).toISOString()}`;
    else return { credentials: kept, joined: false };
  }
  if (!token) throw new BerthError('failed-precondition', `${why}: give --token TOKEN (from berth token create on the controller) to join`);
  const credentials = await join(config, token);
  await saveCredentials(dir, credentials);
  return { credentials, joined: true };
}

/** Trade a join token for a certificate, the CA pinned by the token. */
export async function join(config: NodeConfig, tokenText: string): Promise<NodeCredentials> {
  const token = parseJoinToken(tokenText);
  const caPem = await pinnedCa(config.controller, token.caPin);
  const { generateKeyPair, privateKeyPem, createCsr } = await import('../../proto/trust/x509');
  const keys = await generateKeyPair();
  const csrPem = await createCsr(keys, `CN=${nodeUser(config.nodeName)}`);
  const client = nodeClient(config.controller, grpc.credentials.createSsl(Buffer.from(caPem)));
  try {
    const res = await new Promise<{ certificatePem: string }>((resolve, reject) =>
      client.join({ token: tokenText.trim(), nodeName: config.nodeName, csrPem }, { deadline: Date.now() + 15_000 }, (err, r) => (err || !r ? reject(err) : resolve(r))));
    return { caPem, certPem: res.certificatePem, keyPem: await privateKeyPem(keys.privateKey) };
  } catch (err) {
    const e = err as grpc.ServiceError;
    throw new BerthError(typeof e.code === 'number' ? codeOfGrpcStatus(e.code) : 'unavailable', `cannot join controller ${config.controller}: ${e.details || e.message}`, { cause: err });
  } finally {
    client.close();
  }
}

/** A new certificate for a new key, from the controller, over the node's current credentials. */
export async function renewCredentials(client: NodeClient, config: NodeConfig, current: NodeCredentials): Promise<NodeCredentials> {
  const { generateKeyPair, privateKeyPem, createCsr } = await import('../../proto/trust/x509');
  const keys = await generateKeyPair();
  const csrPem = await createCsr(keys, `CN=${nodeUser(config.nodeName)}`);
  const res = await new Promise<{ certificatePem: string; caPem: string }>((resolve, reject) =>
    client.renewCertificate({ csrPem }, { deadline: Date.now() + 15_000 }, (err, r) => (err || !r ? reject(err) : resolve(r))));
  return { caPem: res.caPem || current.caPem, certPem: res.certificatePem, keyPem: await privateKeyPem(keys.privateKey) };
}

export function nodeClient(controller: string, credentials: grpc.ChannelCredentials): NodeClient {
  const { Node: NodeService } = loadClusterApi().berth.cluster.v1;
  return new NodeService(controller, credentials, {
    // A controller that vanished without closing the connection is noticed within half a minute.
    'grpc.keepalive_time_ms': 15_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  }) as unknown as NodeClient;
}

/**
 * The CA certificate the controller at HOST:PORT sends in its handshake whose public key hashes to
 * `pin`. Nothing is trusted before this check; the handshake is not verified (there is no CA yet
 * to verify it with), and nothing but certificates is read from it.
 */
export function pinnedCa(controller: string, pin: string): Promise<string> {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(controller);
  if (!m) return Promise.reject(new BerthError('invalid-argument', `invalid controller address "${controller}"`));
  const host = (m[1] ?? m[2])!;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(m[3]), rejectUnauthorized: false, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }) });
    const timer = setTimeout(() => socket.destroy(new Error('no TLS handshake within 10 s')), 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const seen: string[] = [];
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw) {
        const pem = new X509Certificate(cert.raw).toString();
        if (caPin(pem) === pin) {
          socket.destroy();
          return resolve(pem);
        }
        seen.push(caPin(pem));
        cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
      }
      socket.destroy();
      reject(new BerthError('permission-denied', `controller ${controller} did not present the CA the join token pins (${pin}); it presented ${seen.join(', ') || 'no certificate'}: a token from another cluster, or someone else answering at this address`));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new BerthError('unavailable', `cannot reach controller ${controller}: ${err.message}`, { cause: err }));
    });
  });
}
