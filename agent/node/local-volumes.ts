// The node's local-path volumes: directories <storage root>/pvc-<uid>_<namespace>_<claim> that
// the controller's provisioner named and the pods' mounts made. The controller deletes a volume
// whose claim went when its reclaim policy is Delete; the node then removes its directory (the
// local-path provisioner's helper pod, in k3s). A directory is removed only when its volume is
// gone, the last policy this node saw of it was Delete (so a Retain volume deleted by hand keeps
// its data, as Kubernetes promises), and no pod on the node has it mounted.

import { statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { PersistentVolume } from '../../proto/resources';
import type { HostMounts } from './host-mounts';

const POLICIES_FILE = 'reclaim-policies.json';

export interface LocalVolumesDeps {
  /** The storage root the node publishes (berth.dev/local-path-root). */
  root: string;
  /** <data root>/pods: mounts below it are pods' uses of volumes. */
  podsDir: string;
  mounts: HostMounts;
  /** The volume of this name, or undefined when it does not exist (throws when that cannot be told). */
  fetchVolume(name: string): Promise<PersistentVolume | undefined>;
  log(line: string): void;
}

export class LocalVolumes {
  private policies: Record<string, string> | undefined;

  constructor(private readonly d: LocalVolumesDeps) {}

  /** Remember a volume's reclaim policy, when its directory is one of ours. */
  async note(pv: PersistentVolume): Promise<void> {
    const dir = pv.spec.hostPath?.path ?? pv.spec.local?.path;
    if (!dir || path.dirname(dir) !== this.d.root) return;
    const policies = await this.load();
    const policy = pv.spec.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policies[path.basename(dir)] === policy) return;
    policies[path.basename(dir)] = policy;
    await this.save();
  }

  /** Remove the directories whose volumes are gone with policy Delete; returns their names. */
  async sweep(): Promise<string[]> {
    const entries = await fs.readdir(this.d.root, { withFileTypes: true }).catch(() => []);
    const inUse = this.mountedIdentities();
    const removed: string[] = [];
    for (const entry of entries) {
      const match = /^(pvc-[0-9a-f-]+)_/.exec(entry.name);
      if (!entry.isDirectory() || !match) continue;
      const pv = await this.d.fetchVolume(match[1]!);
      if (pv) {
        await this.note(pv);
        continue;
      }
      const dir = path.join(this.d.root, entry.name);
      const policies = await this.load();
      if (policies[entry.name] !== 'Delete') continue;
      const st = statSync(dir);
      if (inUse.has(`${st.dev}:${st.ino}`) || this.d.mounts.mountsUnder(dir).length > 0) continue;
      await fs.rm(dir, { recursive: true, force: true });
      delete policies[entry.name];
      await this.save();
      removed.push(entry.name);
      this.d.log(`removed the directory of deleted volume ${match[1]}: ${dir}`);
    }
    return removed;
  }

  /** Device and inode of every mount below the pods' directory: a bind mount shows its source's. */
  private mountedIdentities(): Set<string> {
    const out = new Set<string>();
    for (const m of this.d.mounts.mountsUnder(this.d.podsDir)) {
      const st = statSync(m, { throwIfNoEntry: false });
      if (st) out.add(`${st.dev}:${st.ino}`);
    }
    return out;
  }

  private async load(): Promise<Record<string, string>> {
    if (!this.policies) {
      const text = await fs.readFile(path.join(this.d.root, '.berth', POLICIES_FILE), 'utf8').catch(() => '{}');
      try {
        this.policies = JSON.parse(text) as Record<string, string>;
      } catch {
        this.policies = {};
      }
    }
    return this.policies;
  }

  private async save(): Promise<void> {
    await fs.mkdir(path.join(this.d.root, '.berth'), { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(this.d.root, '.berth', `${POLICIES_FILE}.tmp`), JSON.stringify(this.policies ?? {}));
    await fs.rename(path.join(this.d.root, '.berth', `${POLICIES_FILE}.tmp`), path.join(this.d.root, '.berth', POLICIES_FILE));
  }
}
