// Who is calling, from either credential a Kubernetes API server accepts here: a client
// certificate signed by the cluster CA (users, nodes), or a bearer token a pod got for its service
// account. A service account token counts only while the pod it was issued to exists (the same pod:
// same uid, not being deleted), as Kubernetes' bound tokens.

import type { Metadata } from '@grpc/grpc-js';
import type { Pod } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { serviceAccountGroups, serviceAccountUser } from '../../proto/trust';
import type { Registry } from '../objects';
import type { ServiceAccountTokens } from '../trust';
import { AUTHENTICATED_GROUP, identityOf, type AuthenticatedCall, type Identity } from './identity';

export interface CallWithMetadata extends AuthenticatedCall {
  metadata: Metadata;
}

export type Authenticate = (call: CallWithMetadata) => Promise<Identity>;

/** The bearer token of a call's `authorization` header, if it has one. */
export function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  const m = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value.trim()) : null;
  return m?.[1];
}

export function authenticator(tokens: ServiceAccountTokens, registry: Registry): Authenticate {
  return async (call) => {
    const fromCertificate = identityOf(call);
    if (fromCertificate) return fromCertificate;
    const token = bearerToken(call.metadata);
    if (!token) throw new BerthError('unauthenticated', 'no client certificate signed by the cluster CA and no bearer token: use a kubeconfig from the controller (admin.kubeconfig, berth user create) or a service account token');
    const claims = await tokens.verify(token);
    const pod = await registry.tryGet<Pod>('Pod', claims.namespace, claims.pod.name);
    if (!pod || pod.metadata.uid !== claims.pod.uid || pod.metadata.deletionTimestamp) {
      throw new BerthError('unauthenticated', `the token was issued to pod ${claims.namespace}/${claims.pod.name}, which is gone: it is void`);
    }
    return { user: serviceAccountUser(claims.namespace, claims.serviceAccount.name), groups: [...serviceAccountGroups(claims.namespace), AUTHENTICATED_GROUP] };
  };
}
