// Each pod's service account token, as the kubelet projects it: the controller issues a token
// bound to the pod (an hour), the agent writes token, ca.crt and namespace into the pod's own
// directory and bind-mounts that directory read-only at /var/run/secrets/kubernetes.io/
// serviceaccount in every container, and renews the token at 80 % of its life. Files are swapped
// as the kubelet's atomic writer does (a new timestamped directory, then `..data` renamed to point
// at it), so a container never reads a torn or half-written token.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { PodRef } from './types';

export interface TokenGrant {
  /** False: the pod or its service account opts out; nothing is mounted. */
  mount: boolean;
  token: string;
  /** Unix seconds. */
  expiresAt: number;
  caPem: string;
  namespace: string;
}

export interface PodTokensDeps {
  /** <agent data root>/pods: one directory per pod uid. */
  root: string;
  request(ref: PodRef): Promise<TokenGrant>;
  now(): number;
  log(line: string): void;
}

interface Held {
  dir: string | undefined;
  renewAt: number;
  timer?: NodeJS.Timeout;
}

const FILES = ['token', 'ca.crt', 'namespace'] as const;
/** The kubelet refreshes at 80 % of the token's life. */
const RENEW_FRACTION = 0.8;

export class PodTokens {
  private readonly held = new Map<string, Held>();

  constructor(private readonly d: PodTokensDeps) {}

  /**
   * The directory to mount for the pod, undefined when it opts out. Asks the controller only when
   * the pod has no current token (first container, or after an agent restart); the renewal keeps it
   * current afterwards.
   */
  async ensure(ref: PodRef): Promise<string | undefined> {
    const current = this.held.get(ref.uid);
    if (current && current.renewAt > this.d.now()) return current.dir;
    return this.refresh(ref);
  }

  /** The pod is gone: stop renewing, remove its files. */
  async release(uid: string): Promise<void> {
    const h = this.held.get(uid);
    if (h?.timer) clearTimeout(h.timer);
    this.held.delete(uid);
    await fs.rm(path.join(this.d.root, uid), { recursive: true, force: true });
  }

  stop(): void {
    for (const h of this.held.values()) if (h.timer) clearTimeout(h.timer);
  }

  private async refresh(ref: PodRef): Promise<string | undefined> {
    const grant = await this.d.request(ref);
    const issuedAt = this.d.now();
    const lifeMs = Math.max(1000, grant.expiresAt * 1000 - issuedAt);
    const renewAt = issuedAt + lifeMs * RENEW_FRACTION;
    const previous = this.held.get(ref.uid);
    if (previous?.timer) clearTimeout(previous.timer);
    if (!grant.mount) {
      this.held.set(ref.uid, { dir: undefined, renewAt: Number.POSITIVE_INFINITY });
      return undefined;
    }
    const dir = path.join(this.d.root, ref.uid, 'serviceaccount');
    await writeAtomically(dir, { token: grant.token, 'ca.crt': grant.caPem, namespace: grant.namespace });
    const held: Held = { dir, renewAt };
    held.timer = setTimeout(() => {
      this.refresh(ref).catch((err: unknown) => {
        this.d.log(`pod ${ref.namespace}/${ref.name}: cannot renew its service account token: ${(err as Error).message} (retrying)`);
        // Try again soon; the token in place stays valid until it expires.
        held.renewAt = this.d.now();
        held.timer = setTimeout(() => void this.ensure(ref).catch(() => undefined), 10_000);
        held.timer.unref();
      });
    }, renewAt - issuedAt);
    held.timer.unref();
    this.held.set(ref.uid, held);
    return dir;
  }
}

/**
 * Write the files into `dir` as one change: a fresh `..<time>` directory holds them, `..data`
 * points at it (a symlink replaced by rename), and each file name is a symlink through `..data`.
 */
export async function writeAtomically(dir: string, files: Record<(typeof FILES)[number], string>): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const versionDir = path.join(dir, version);
  await fs.mkdir(versionDir, { mode: 0o755 });
  for (const name of FILES) await fs.writeFile(path.join(versionDir, name), files[name], { mode: 0o644 });
  const previous = await fs.readlink(path.join(dir, '..data')).catch(() => undefined);
  await fs.symlink(version, path.join(dir, '..data_tmp'));
  await fs.rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const name of FILES) {
    await fs.symlink(path.join('..data', name), path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  if (previous && previous !== version) await fs.rm(path.join(dir, previous), { recursive: true, force: true });
}
