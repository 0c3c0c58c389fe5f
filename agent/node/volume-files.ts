// The files of a pod's configMap, secret, downwardAPI and projected volumes, as the kubelet
// projects them: every key as a file (or only `items`, each to its path), the mode of the item or
// the volume's defaultMode (0644), a missing object or item key an error unless optional. Pure:
// the objects come through `lookup`; writing them is atomic-writer.ts's job.

import { posix } from 'node:path';
import type { DownwardAPIVolumeFile, KeyToPath, Pod, Volume } from '../../proto/resources';
import type { ConfigLookup, PodFacts } from './pod-env';
import { podField, resourceField } from './pod-env';

export interface ProjectedFile {
  bytes: Buffer;
  mode: number;
}

export type VolumeFiles = { ok: true; files: Map<string, ProjectedFile> } | { ok: false; message: string };

const DEFAULT_MODE = 0o644;

/** The files of one volume; undefined for a volume that is not projected from objects (emptyDir, hostPath...). */
export function volumeFiles(pod: Pod, volume: Volume, lookup: ConfigLookup, facts: PodFacts): VolumeFiles | undefined {
  const files = new Map<string, ProjectedFile>();
  const add = (path: string, bytes: Buffer, mode: number): string | undefined => {
    const problem = pathProblem(path);
    if (problem) return `volume ${volume.name}: ${problem}`;
    files.set(path, { bytes, mode });
    return undefined;
  };
  const fail = (message: string): VolumeFiles => ({ ok: false, message });
  const fromMap = (what: 'ConfigMap' | 'Secret', name: string, values: Map<string, Buffer> | undefined, items: KeyToPath[] | undefined, optional: boolean | undefined, mode: number): string | undefined => {
    if (!values) return optional ? undefined : `${what.toLowerCase()} "${name}" not found`;
    for (const item of items ?? [...values.keys()].map((key): KeyToPath => ({ key, path: key }))) {
      const bytes = values.get(item.key);
      if (bytes === undefined) {
        if (optional) continue;
        return `${what === 'Secret' ? 'secret' : 'configmap'} references non-existent config key: ${item.key}`;
      }
      const problem = add(item.path, bytes, item.mode ?? mode);
      if (problem) return problem;
    }
    return undefined;
  };
  const configMapValues = (name: string) => {
    const cm = lookup.configMap(name);
    if (!cm) return undefined;
    return new Map<string, Buffer>([
      ...Object.entries(cm.data ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'utf8')]),
      ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]),
    ]);
  };
  const secretValues = (name: string) => {
    const s = lookup.secret(name);
    return s ? new Map(Object.entries(s.data ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')])) : undefined;
  };
  const downward = (items: DownwardAPIVolumeFile[] | undefined, mode: number): string | undefined => {
    for (const item of items ?? []) {
      let value: string | undefined;
      if (item.fieldRef) value = podField(pod, item.fieldRef.fieldPath, facts);
      else if (item.resourceFieldRef) {
        const c = pod.spec.containers.find((x) => x.name === item.resourceFieldRef!.containerName) ?? pod.spec.containers[0]!;
        value = resourceField(c, item.resourceFieldRef.resource, item.resourceFieldRef.divisor, facts);
      }
      if (value === undefined) return `volume ${volume.name}: ${item.path}: unsupported field`;
      const problem = add(item.path, Buffer.from(value), item.mode ?? mode);
      if (problem) return problem;
    }
    return undefined;
  };

  let problem: string | undefined;
  if (volume.configMap) {
    const v = volume.configMap;
    problem = fromMap('ConfigMap', v.name, configMapValues(v.name), v.items, v.optional, v.defaultMode ?? DEFAULT_MODE);
  } else if (volume.secret) {
    const v = volume.secret;
    problem = fromMap('Secret', v.secretName, secretValues(v.secretName), v.items, v.optional, v.defaultMode ?? DEFAULT_MODE);
  } else if (volume.downwardAPI) {
    problem = downward(volume.downwardAPI.items, volume.downwardAPI.defaultMode ?? DEFAULT_MODE);
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode ?? DEFAULT_MODE;
    for (const source of volume.projected.sources) {
      if (source.configMap) problem = fromMap('ConfigMap', source.configMap.name, configMapValues(source.configMap.name), source.configMap.items, source.configMap.optional, mode);
      else if (source.secret) problem = fromMap('Secret', source.secret.name, secretValues(source.secret.name), source.secret.items, source.secret.optional, mode);
      else if (source.downwardAPI) problem = downward(source.downwardAPI.items, mode);
      else if (source.serviceAccountToken) problem = `volume ${volume.name}: projected serviceAccountToken sources are not supported by this node yet (the pod's own token is at /var/run/secrets/kubernetes.io/serviceaccount)`;
      if (problem) break;
    }
  } else return undefined;
  return problem ? fail(problem) : { ok: true, files };
}

/** A relative path inside the volume: no absolute path, no '..' element, not starting with '..'. */
function pathProblem(path: string): string | undefined {
  if (path === '' || posix.isAbsolute(path)) return `${JSON.stringify(path)}: must be a relative path`;
  if (path.split('/').includes('..') || path.startsWith('..')) return `${JSON.stringify(path)}: must not contain '..'`;
  return undefined;
}
