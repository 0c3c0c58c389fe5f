// A container's environment as the kubelet makes it: the Services' variables, then envFrom (each
// ConfigMap's or Secret's keys, prefixed), then env in order (a later name wins), each value
// expanded against what came before ($(NAME), $$ for a literal $), valueFrom read from the pod's
// ConfigMaps and Secrets, its own fields (the downward API) and its container's resources. A
// required key or object that is missing is the kubelet's CreateContainerConfigError, with its
// message; the container waits until it appears. Pure: the objects come through `lookup`.

import { parseCpu, parseMemory, type ConfigMap, type Container, type EnvVar, type PersistentVolume, type PersistentVolumeClaim, type Pod, type Secret } from '../../proto/resources';

export interface ConfigLookup {
  /** The pod's namespace's ConfigMap of this name; undefined when it does not exist. */
  configMap(name: string): ConfigMap | undefined;
  secret(name: string): Secret | undefined;
  /** A claim of the pod's and the volume it is bound to, as far as they exist. */
  claim?(name: string): { claim?: PersistentVolumeClaim; volume?: PersistentVolume };
}

/** What only the node knows of the pod: its addresses, and allocatable for limits it does not set. */
export interface PodFacts {
  podIP?: string;
  hostIP?: string;
  allocatable?: { cpu?: string; memory?: string };
}

export type EnvResult =
  | { ok: true; env: string[]; /** envFrom keys that are no valid variable name, skipped (an event says so). */ skipped: string[] }
  | { ok: false; message: string };

/** Kubernetes' check of a variable name (C identifiers and more: letters, digits, _ - . not starting with a digit). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function containerEnv(pod: Pod, container: Container, lookup: ConfigLookup, facts: PodFacts, serviceEnv: readonly string[] = []): EnvResult {
  const namespace = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
  for (const line of serviceEnv) {
    const eq = line.indexOf('=');
    vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const skipped: string[] = [];
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let entries: [string, string][];
    if (from.configMapRef) {
      const cm = lookup.configMap(from.configMapRef.name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        return { ok: false, message: `configmap "${from.configMapRef.name}" not found` };
      }
      entries = Object.entries(cm.data ?? {});
    } else if (from.secretRef) {
      const secret = lookup.secret(from.secretRef.name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        return { ok: false, message: `secret "${from.secretRef.name}" not found` };
      }
      entries = Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
    } else continue;
    for (const [key, value] of entries) {
      const name = prefix + key;
      if (!ENV_NAME.test(name)) skipped.push(name);
      else vars.set(name, value);
    }
  }
  for (const env of container.env ?? []) {
    const value = resolveVar(env, pod, namespace, container, lookup, facts, vars);
    if (typeof value === 'object') return { ok: false, message: value.error };
    if (value !== undefined) vars.set(env.name, value);
  }
  return { ok: true, env: [...vars].map(([k, v]) => `${k}=${v}`), skipped };
}

function resolveVar(env: EnvVar, pod: Pod, namespace: string, container: Container, lookup: ConfigLookup, facts: PodFacts, vars: Map<string, string>): string | undefined | { error: string } {
  const from = env.valueFrom;
  if (!from) return expand(env.value ?? '', vars);
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const cm = lookup.configMap(ref.name);
    if (!cm) return ref.optional ? undefined : { error: `configmap "${ref.name}" not found` };
    const value = cm.data?.[ref.key] ?? (cm.binaryData?.[ref.key] !== undefined ? Buffer.from(cm.binaryData[ref.key]!, 'base64').toString('utf8') : undefined);
    if (value === undefined) return ref.optional ? undefined : { error: `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}` };
    return value;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const secret = lookup.secret(ref.name);
    if (!secret) return ref.optional ? undefined : { error: `secret "${ref.name}" not found` };
    const value = secret.data?.[ref.key];
    if (value === undefined) return ref.optional ? undefined : { error: `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}` };
    return Buffer.from(value, 'base64').toString('utf8');
  }
  if (from.fieldRef) return podField(pod, from.fieldRef.fieldPath, facts) ?? { error: `unsupported fieldPath: ${from.fieldRef.fieldPath}` };
  if (from.resourceFieldRef) {
    const ref = from.resourceFieldRef;
    const target = ref.containerName ? pod.spec.containers.find((c) => c.name === ref.containerName) : container;
    if (!target) return { error: `resourceFieldRef: no container ${ref.containerName} in pod ${pod.metadata.name}` };
    return resourceField(target, ref.resource, ref.divisor, facts) ?? { error: `unsupported resource: ${ref.resource}` };
  }
  return '';
}

/** $(NAME) by what is defined so far (left as written when not), $$ as $: Kubernetes' expansion. */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? vars.get(name)! : match;
  });
}

/** A field of the pod as the downward API reads it; undefined for a path it does not know. */
export function podField(pod: Pod, path: string, facts: PodFacts): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    case 'spec.nodeName': return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP': case 'status.podIPs': return facts.podIP ?? '';
    case 'status.hostIP': case 'status.hostIPs': return facts.hostIP ?? '';
    default: return undefined;
  }
}

/** `key="value"` lines, sorted, as the downward API writes a whole label or annotation map. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
}

/** A request or limit in units of the divisor, rounded up (the node's allocatable for a limit not set), as the kubelet does. */
export function resourceField(container: Container, resource: string, divisor: string | number | undefined, facts: PodFacts): string | undefined {
  const [kind, name] = resource.split('.') as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || (name !== 'cpu' && name !== 'memory')) return undefined;
  const set = container.resources?.[kind]?.[name] ?? (kind === 'requests' ? container.resources?.limits?.[name] : undefined);
  const value = set ?? (kind === 'limits' ? facts.allocatable?.[name] : undefined);
  if (name === 'cpu') {
    const millis = value === undefined ? 0 : parseCpu(value);
    const per = divisor === undefined ? 1000 : parseCpu(divisor);
    return String(Math.max(value === undefined ? 0 : 1, Math.ceil(millis / per)));
  }
  const bytes = value === undefined ? 0 : parseMemory(value);
  const per = divisor === undefined ? 1 : parseMemory(divisor);
  return String(Math.ceil(bytes / per));
}
