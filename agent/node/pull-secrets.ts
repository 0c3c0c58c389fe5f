// A pod's imagePullSecrets as registry credentials, as the kubelet reads them: a
// kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (its `auths`), or a legacy
// kubernetes.io/dockercfg Secret's .dockercfg (the map alone); the first Secret naming a
// registry wins. Pure: the Secrets come through the pod's config lookup.

import type { Pod } from '../../proto/resources';
import { authsOf, type Credentials } from '../images/registry';
import type { ConfigLookup } from './pod-env';

export function pullSecretCredentials(pod: Pod, lookup: ConfigLookup): { credentials: Map<string, Credentials>; missing: string[] } {
  const credentials = new Map<string, Credentials>();
  const missing: string[] = [];
  for (const { name } of pod.spec.imagePullSecrets ?? []) {
    const secret = lookup.secret(name);
    const data = secret?.data ?? {};
    const text = (key: string) => (data[key] !== undefined ? Buffer.from(data[key], 'base64').toString('utf8') : undefined);
    let auths: unknown;
    try {
      const json = text('.dockerconfigjson');
      const legacy = text('.dockercfg');
      auths = json !== undefined ? (JSON.parse(json) as { auths?: unknown }).auths : legacy !== undefined ? JSON.parse(legacy) : undefined;
    } catch {
      auths = undefined;
    }
    if (!secret || auths === undefined) {
      missing.push(`"${name}"`);
      continue;
    }
    for (const [host, creds] of authsOf(auths)) if (!credentials.has(host)) credentials.set(host, creds);
  }
  return { credentials, missing };
}
