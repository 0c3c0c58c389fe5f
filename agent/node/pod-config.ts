// The ConfigMaps and Secrets a pod names, fetched from the controller (which lets a node read only
// what its own pods name) and kept briefly, so that the containers of one pod, and a pod's
// restarts, do not ask again each time; a changed object reaches new containers within the TTL.

import { podReferences, type ConfigMap, type Pod, type Secret } from '../../proto/resources';
import type { ConfigLookup } from './pod-env';

export type FetchPodConfig = (kind: 'ConfigMap' | 'Secret', namespace: string, name: string) => Promise<ConfigMap | Secret | undefined>;

const TTL_MS = 5_000;

export class PodConfigCache {
  private readonly entries = new Map<string, { at: number; value: ConfigMap | Secret | undefined }>();

  constructor(private readonly fetch: FetchPodConfig, private readonly now: () => number = Date.now) {}

  /** Every ConfigMap and Secret the pod names, read (or taken from the cache) now, as a lookup. */
  async lookup(pod: Pod): Promise<ConfigLookup> {
    const namespace = pod.metadata.namespace ?? 'default';
    const refs = podReferences(pod);
    const configMaps = new Map<string, ConfigMap | undefined>();
    const secrets = new Map<string, Secret | undefined>();
    await Promise.all([
      ...[...refs.configMaps].map(async (name) => configMaps.set(name, (await this.get('ConfigMap', namespace, name)) as ConfigMap | undefined)),
      ...[...refs.secrets].map(async (name) => secrets.set(name, (await this.get('Secret', namespace, name)) as Secret | undefined)),
    ]);
    return { configMap: (name) => configMaps.get(name), secret: (name) => secrets.get(name) };
  }

  private async get(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): Promise<ConfigMap | Secret | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    const cached = this.entries.get(key);
    if (cached && this.now() - cached.at < TTL_MS) return cached.value;
    const value = await this.fetch(kind, namespace, name);
    if (this.entries.size > 1000) this.entries.clear();
    this.entries.set(key, { at: this.now(), value });
    return value;
  }
}
