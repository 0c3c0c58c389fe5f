// Who is calling: the user and groups of the client certificate a call's TLS connection proved
// (verified against the cluster CA by the handshake; an unverified certificate counts as none), as
// Kubernetes' x509 authenticator reads them: CN the user, each O a group.

import type { PeerCertificate } from 'node:tls';
import { BerthError } from '../../proto/errors';

export interface Identity {
  user: string;
  groups: string[];
}

/** Every authenticated identity is in this group, as in Kubernetes. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
/** The group whose members may do anything (the admin's), as in Kubernetes. */
export const MASTERS_GROUP = 'system:masters';

/** Anything with getAuthContext: unary, server-stream and bidi calls alike. */
export interface AuthenticatedCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The caller's verified identity, or undefined when its connection carried no verified certificate. */
export function identityOf(call: AuthenticatedCall): Identity | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  const user = asList(cert?.subject?.CN)[0];
  if (!cert || !user) return undefined;
  return { user, groups: [...asList(cert.subject.O), AUTHENTICATED_GROUP] };
}

/** identityOf, or UNAUTHENTICATED naming what was missing. */
export function requireIdentity(call: AuthenticatedCall): Identity {
  const identity = identityOf(call);
  if (!identity) throw new BerthError('unauthenticated', 'no client certificate signed by the cluster CA: use a kubeconfig from the controller (admin.kubeconfig, berth user create) or join with a token');
  return identity;
}
