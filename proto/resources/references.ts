// The ConfigMaps and Secrets a pod names (Kubernetes' VisitPodConfigmapNames and
// VisitPodSecretNames): in its containers' env and envFrom, its volumes (projected ones too) and
// its imagePullSecrets; and the claims its volumes name. What a node may read is what its pods name (the Node authorizer), and what
// an agent fetches for a pod. Pure.

import { volumeClaimName, type Pod } from './types';

export interface PodReferences {
  configMaps: Set<string>;
  secrets: Set<string>;
  /** PersistentVolumeClaims its volumes name. */
  claims: Set<string>;
}

export function podReferences(pod: Pod): PodReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const claims = new Set<string>();
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const env of c.env ?? []) {
      if (env.valueFrom?.configMapKeyRef) configMaps.add(env.valueFrom.configMapKeyRef.name);
      if (env.valueFrom?.secretKeyRef) secrets.add(env.valueFrom.secretKeyRef.name);
    }
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef) configMaps.add(from.configMapRef.name);
      if (from.secretRef) secrets.add(from.secretRef.name);
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap) configMaps.add(v.configMap.name);
    if (v.secret) secrets.add(v.secret.secretName);
    const claim = volumeClaimName(pod.metadata.name ?? '', v);
    if (claim) claims.add(claim);
    for (const source of v.projected?.sources ?? []) {
      if (source.configMap) configMaps.add(source.configMap.name);
      if (source.secret) secrets.add(source.secret.name);
    }
  }
  for (const s of pod.spec.imagePullSecrets ?? []) secrets.add(s.name);
  return { configMaps, secrets, claims };
}
