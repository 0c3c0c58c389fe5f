// Container records on disk: <root>/<id>/container.json, one per container, rewritten
// atomically on every change. The directory also holds the container's writable layer and
// bundle, so removing a container is removing its directory. <root>/.init-layer is the read-only
// layer every container's rootfs has between its image and its own.
//
// Opened first by the composition root: the image service asks it which container uses an image.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import type { ContainerRecord } from './types';

export class ContainerStore {
  private readonly records = new Map<string, ContainerRecord>();

  private constructor(readonly root: string) {}

  /**
   * The mount points every container needs (/proc, /sys, /dev..., the /etc files the runtime binds
   * over), as a read-only layer between the image and the container's own, as docker's "init"
   * layer is: runc then finds them and creates nothing in the writable layer, so diff and commit
   * show only what the container's processes changed.
   */
  get initLayer(): string {
    return path.join(this.root, INIT_LAYER);
  }

  static async open(root: string): Promise<ContainerStore> {
    const store = new ContainerStore(root);
    await makeInitLayer(store.initLayer);
    await fs.mkdir(root, { recursive: true, mode: 0o711 });
    for (const id of (await fs.readdir(root)).filter((name) => /^[a-f0-9]{64}$/.test(name))) {
      try {
        const record = JSON.parse(await fs.readFile(path.join(root, id, 'container.json'), 'utf8')) as ContainerRecord;
        store.records.set(record.id, record);
      } catch (err) {
        // A directory without a record is a create that never finished: nothing refers to it.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') await fs.rm(path.join(root, id), { recursive: true, force: true });
        else throw err;
      }
    }
    return store;
  }

  dirOf(id: string): string {
    return path.join(this.root, id);
  }

  list(): ContainerRecord[] {
    return [...this.records.values()].sort((a, b) => b.created.localeCompare(a.created));
  }

  get(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  byName(name: string): ContainerRecord | undefined {
    const bare = name.startsWith('/') ? name.slice(1) : name;
    return this.list().find((r) => r.name === bare);
  }

  /** docker's lookup: full ID, then name, then an unambiguous ID prefix. */
  resolve(word: string): ContainerRecord {
    const found = this.records.get(word) ?? this.byName(word);
    if (found) return found;
    const matches = /^[a-f0-9]+$/.test(word) ? this.list().filter((r) => r.id.startsWith(word)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new BerthError('invalid-argument', `multiple containers match the ID prefix "${word}"`);
    throw new BerthError('not-found', `No such container: ${word}`);
  }

  newId(): string {
    for (;;) {
      const id = randomBytes(32).toString('hex');
      // IDs are shown by their first 12 digits: keep those unique too.
      if (!this.list().some((r) => r.id.slice(0, 12) === id.slice(0, 12))) return id;
    }
  }

  async save(record: ContainerRecord): Promise<void> {
    const dir = this.dirOf(record.id);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'container.json');
    const tmp = `${file}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(record, null, 2));
    await fs.rename(tmp, file);
    this.records.set(record.id, record);
  }

  /** Forget the record and delete the directory (writable layer, bundle, logs). */
  async remove(id: string): Promise<void> {
    this.records.delete(id);
    await fs.rm(this.dirOf(id), { recursive: true, force: true });
  }
}

const INIT_LAYER = '.init-layer';

async function makeInitLayer(dir: string): Promise<void> {
  for (const d of ['dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys', 'etc']) await fs.mkdir(path.join(dir, d), { recursive: true, mode: 0o755 });
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) await fs.writeFile(path.join(dir, f), '', { flag: 'a', mode: 0o644 });
}
