// Who is who in the cluster, as Kubernetes names them, and how an agent that has nothing yet
// recognises the right controller: the join token carries the hash of the cluster CA's public key
// (kubeadm's --discovery-token-ca-cert-hash), so the first TLS connection is pinned, not trusted
// blindly.

import { createHash, X509Certificate } from 'node:crypto';
import { BerthError } from '../errors';

/** The user a node's certificate names (its CN), and the group every node is in (its O). */
export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';

export const nodeUser = (nodeName: string): string => `${NODE_USER_PREFIX}${nodeName}`;

/** A node's name is a DNS-1123 subdomain (lower case, digits, '-' and '.'), as Kubernetes'. */
export const isNodeName = (name: string): boolean => /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name);

/** The node a user name stands for, or undefined when it is not a node's. */
export function nodeNameOf(user: string): string | undefined {
  return user.startsWith(NODE_USER_PREFIX) && user.length > NODE_USER_PREFIX.length ? user.slice(NODE_USER_PREFIX.length) : undefined;
}

/** "sha256:<hex>" of the CA certificate's SubjectPublicKeyInfo (DER): survives re-issuing the CA with its key. */
export function caPin(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * A join token: `K10<ca-pin-hex>::<id>.<secret>` (k3s's shape, kubeadm's id.secret). The id names
 * the token in `berth token list`; only a hash of the secret is stored.
 */
export interface JoinToken {
  /** "sha256:<hex>", as caPin makes it. */
  caPin: string;
  /** 6 characters [a-z0-9], as a Kubernetes bootstrap token's id. */
  id: string;
  /** 16 characters [a-z0-9]. */
  secret: string;
}

const TOKEN = /^K10([0-9a-f]{64})::([a-z0-9]{6})\.([a-z0-9]{16})$/;

export function formatJoinToken(token: JoinToken): string {
  return `K10${token.caPin.replace(/^sha256:/, '')}::${token.id}.${token.secret}`;
}

/** The token's parts, or an invalid-argument error that says which part is wrong (never echoing the secret). */
export function parseJoinToken(text: string): JoinToken {
  const t = text.trim();
  const m = TOKEN.exec(t);
  if (m) return { caPin: `sha256:${m[1]}`, id: m[2]!, secret: m[3]! };
  const bad = (why: string) => new BerthError('invalid-argument', `invalid join token: ${why} (expected K10<64 hex digits>::<6 characters>.<16 characters>, from berth token create)`);
  if (!t.startsWith('K10')) throw bad('it does not start with K10');
  const [pin = '', credentials = ''] = t.slice(3).split('::');
  if (!/^[0-9a-f]{64}$/.test(pin)) throw bad('the CA hash is not 64 lower-case hex digits');
  if (!/^[a-z0-9]{6}\./.test(credentials)) throw bad('the token id is not 6 characters of [a-z0-9] followed by "."');
  throw bad('the token secret is not 16 characters of [a-z0-9]');
}
