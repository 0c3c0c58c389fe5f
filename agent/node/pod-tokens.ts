// Each pod's service account token, as the kubelet projects it: the controller issues a token
// bound to the pod (an hour), the agent writes token, ca.crt and namespace into the pod's own
// directory and bind-mounts that directory read-only at /var/run/secrets/kubernetes.io/
// serviceaccount in every container, and renews the token at 80 % of its life. Files are swapped
// as the kubelet's atomic writer does (a new timestamped directory, then `..data` renamed to point
// at it), so a container never reads a torn or half-written token.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeAtomically } from './atomic-writer';
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
  private readonly inFlight = new Map<string, Promise<string | undefined>>();

  constructor(private readonly d: PodTokensDeps) {}

  /**
   * The directory to mount for the pod, undefined when it opts out. Asks the controller only when
   * the pod has no current token (first container, or after an agent restart); the renewal keeps it
   * current afterwards.
   */
  async ensure(ref: PodRef): Promise<string | undefined> {
    const current = this.held.get(ref.uid);
    if (current && current.renewAt > this.d.now()) return current.dir;
    // A pod's containers are created at once: they share one request and one write.
    const pending = this.inFlight.get(ref.uid);
    if (pending) return pending;
    const request = this.refresh(ref).finally(() => this.inFlight.delete(ref.uid));
    this.inFlight.set(ref.uid, request);
    return request;
  }

  /** The pod is gone: stop renewing, remove its token's files. */
  async release(uid: string): Promise<void> {
    const h = this.held.get(uid);
    if (h?.timer) clearTimeout(h.timer);
    this.held.delete(uid);
    // Only its own directory: the pod's directory holds its volumes, which pod-volumes.ts unmounts before removing.
    await fs.rm(path.join(this.d.root, uid, 'serviceaccount'), { recursive: true, force: true });
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
    const files = { token: grant.token, 'ca.crt': grant.caPem, namespace: grant.namespace };
    await writeAtomically(dir, new Map(FILES.map((name) => [name, { bytes: Buffer.from(files[name]), mode: 0o644 }])));
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
