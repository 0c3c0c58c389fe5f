// The ConfigMaps, Secrets and claims (with their volumes) a pod names, fetched from the controller
// (which lets a node read only what its own pods name) and kept briefly, so that the containers of
// one pod, and a pod's restarts, do not ask again each time; a changed object reaches new
// containers within the TTL.

import { podReferences, type ConfigMap, type PersistentVolume, type PersistentVolumeClaim, type Pod, type Resource, type Secret } from '../../proto/resources';
import type { ConfigLookup } from './pod-env';

export type PodConfigKind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'PersistentVolume';
type PodConfigObject = ConfigMap | Secret | PersistentVolumeClaim | PersistentVolume;


export type FetchPodConfig = (kind: PodConfigKind, namespace: string, name: string) => Promise<Resource | undefined>;

const TTL_MS = 5_000;

export class PodConfigCache {
  private readonly entries = new Map<string, { at: number; value: PodConfigObject | undefined }>();

  constructor(private readonly fetch: FetchPodConfig, private readonly now: () => number = Date.now) {}

  /** Every ConfigMap and Secret the pod names, read (or taken from the cache) now, as a lookup. */
  async lookup(pod: Pod): Promise<ConfigLookup> {
    const namespace = pod.metadata.namespace ?? 'default';
    const refs = podReferences(pod);
    const configMaps = new Map<string, ConfigMap | undefined>();
    const secrets = new Map<string, Secret | undefined>();
    const claims = new Map<string, { claim?: PersistentVolumeClaim; volume?: PersistentVolume }>();
    await Promise.all([
      ...[...refs.configMaps].map(async (name) => configMaps.set(name, (await this.get('ConfigMap', namespace, name)) as ConfigMap | undefined)),
      ...[...refs.secrets].map(async (name) => secrets.set(name, (await this.get('Secret', namespace, name)) as Secret | undefined)),
      ...[...refs.claims].map(async (name) => claims.set(name, await this.claim(namespace, name))),
    ]);
    return { configMap: (name) => configMaps.get(name), secret: (name) => secrets.get(name), claim: (name) => claims.get(name) ?? {} };
  }

  /** A claim and, once it is bound, its volume (read afresh: binding is what the pod waits for). */
  private async claim(namespace: string, name: string): Promise<{ claim?: PersistentVolumeClaim; volume?: PersistentVolume }> {
    const claim = (await this.fetch('PersistentVolumeClaim', namespace, name)) as PersistentVolumeClaim | undefined;
    if (!claim?.spec.volumeName) return claim ? { claim } : {};
    const volume = (await this.get('PersistentVolume', '', claim.spec.volumeName)) as PersistentVolume | undefined;
    return volume ? { claim, volume } : { claim };
  }

  private async get(kind: PodConfigKind, namespace: string, name: string): Promise<PodConfigObject | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    const cached = this.entries.get(key);
    if (cached && this.now() - cached.at < TTL_MS) return cached.value;
    const value = (await this.fetch(kind, namespace, name)) as PodConfigObject | undefined;
    if (this.entries.size > 1000) this.entries.clear();
    this.entries.set(key, { at: this.now(), value });
    return value;
  }
}
