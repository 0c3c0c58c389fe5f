// Looking at containers without changing them: ps, inspect's paths, size, diff, logs, wait.

import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { changes, type Change } from '../diff';
import type { ImageRecord, ImageStore } from '../images';
import type { ContainerSnapshotter, WritableLayer } from '../snapshots';
import { readLogs, type LogLine, type LogOptions } from './logs';
import type { RecordWatch } from './record-watch';
import type { ContainerStore } from './store';
import type { ContainerRecord } from './types';

export interface ContainerSize {
  /** The writable layer. */
  sizeRw: number;
  /** The writable layer plus the image. */
  sizeRootFs: number;
}

export const logPathOf = (dir: string): string => path.join(dir, 'container.log');

export class ContainerInspection {
  constructor(
    private readonly store: ContainerStore,
    private readonly images: Pick<ImageStore, 'get'>,
    private readonly snapshots: ContainerSnapshotter,
    private readonly watch: RecordWatch,
  ) {}

  list(options: { all?: boolean } = {}): ContainerRecord[] {
    return this.store.list().filter((c) => options.all || c.state.status === 'running' || c.state.status === 'restarting');
  }

  get(word: string): ContainerRecord {
    return this.store.resolve(word);
  }

  find(id: string): ContainerRecord | undefined {
    return this.store.get(id);
  }

  async size(record: ContainerRecord): Promise<ContainerSize> {
    const sizeRw = await this.snapshots.usage(this.pathsOf(record));
    const image = this.images.get(record.config.imageId);
    return { sizeRw, sizeRootFs: sizeRw + (image?.size ?? 0) };
  }

  async diff(word: string): Promise<Change[]> {
    const record = this.store.resolve(word);
    const image = this.images.get(record.config.imageId);
    if (!image) throw new BerthError('not-found', `container ${record.name}: its image is gone`);
    return changes(this.pathsOf(record).upper, this.lowerDirs(image));
  }

  pathsOf(record: ContainerRecord): WritableLayer {
    return this.snapshots.writable(this.store.dirOf(record.id));
  }

  lowerDirsOf(record: ContainerRecord): string[] {
    const image = this.images.get(record.config.imageId);
    return image ? this.lowerDirs(image) : [];
  }

  /** The image's snapshot directories, topmost first: overlay's lowerdir order. */
  lowerDirs(image: ImageRecord): string[] {
    return this.snapshots.lowerDirs(image.layers.map((l) => l.chainId));
  }

  logs(word: string, options: Omit<LogOptions, 'done'>, onLine: (line: LogLine) => void): Promise<void> {
    const record = this.store.resolve(word);
    return readLogs(logPathOf(this.store.dirOf(record.id)), { ...options, done: this.watch.settled(record.id).then(() => {}) }, onLine);
  }

  /** docker wait: the exit code once it is settled (a --rm container: once it is removed). */
  async wait(word: string): Promise<number> {
    const record = this.store.resolve(word);
    return this.watch.settled(record.id, record.config.autoRemove);
  }
}
