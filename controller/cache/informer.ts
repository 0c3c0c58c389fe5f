// A kind's objects kept in memory from a list and a watch, as client-go's informers do: the
// controllers read it instead of the store, and are told what changed.
//
// Objects in the cache are shared: never change one; clone before changing. After a write of its
// own a controller waits for the cache to reach the write's revision (`waitFor`), so its next
// pass sees what it just did (no duplicate pods from a stale view).

import type { Resource } from '../../proto/resources';
import { StoreError } from '../store';
import type { Registry } from '../objects';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler<T> = (type: ChangeType, object: T, previous?: T) => void;

const keyOf = (o: Resource) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class Informer<T extends Resource = Resource> {
  private readonly objects = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly waiters: { revision: number; resolve: () => void }[] = [];
  private watch: { close(): void } | undefined;
  private stopped = false;
  private revisionSeen = 0;

  constructor(private readonly registry: Registry, readonly kind: string) {}

  /** Fill the cache and keep it current; resolves once the first list is in. */
  async start(): Promise<void> {
    await this.relist();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.close();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  list(filter?: (o: T) => boolean): T[] {
    const all = [...this.objects.values()];
    return filter ? all.filter(filter) : all;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }

  /** The store revision the cache has caught up with. */
  get revision(): number {
    return this.revisionSeen;
  }

  /** Resolves once the cache reflects every write up to `revision` of this kind. */
  waitFor(revision: number | string | undefined): Promise<void> {
    const r = Number(revision ?? 0);
    if (this.stopped || r <= this.revisionSeen) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ revision: r, resolve }));
  }

  private async relist(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const { items, resourceVersion } = await this.registry.list<T>(this.kind);
        const fresh = new Map(items.map((o) => [keyOf(o), o]));
        for (const [k, old] of this.objects) {
          if (!fresh.has(k)) {
            this.objects.delete(k);
            this.emit('DELETED', old);
          }
        }
        for (const [k, o] of fresh) {
          const old = this.objects.get(k);
          this.objects.set(k, o);
          if (!old) this.emit('ADDED', o);
          else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit('MODIFIED', o, old);
        }
        this.advance(Number(resourceVersion));
        this.watchFrom(Number(resourceVersion));
        return;
      } catch (err) {
        if (attempt >= 3) console.error(`informer ${this.kind}: list failed, retrying:`, err);
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  private watchFrom(revision: number): void {
    if (this.stopped) return;
    this.watch = this.registry.watch(this.kind, {}, revision, {
      onEvent: (e) => {
        const object = e.object as T;
        const k = keyOf(object);
        const previous = this.objects.get(k);
        if (e.type === 'DELETED') this.objects.delete(k);
        else this.objects.set(k, object);
        this.emit(e.type, object, previous);
        this.advance(e.revision);
      },
      onError: (err) => {
        this.watch?.close();
        if (!(err instanceof StoreError && err.code === 'gone')) console.error(`informer ${this.kind}: watch failed, relisting:`, err.message);
        void this.relist();
      },
    });
  }

  private advance(revision: number): void {
    if (revision > this.revisionSeen) this.revisionSeen = revision;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.revision <= this.revisionSeen) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  private emit(type: ChangeType, object: T, previous?: T): void {
    for (const h of this.handlers) h(type, object, previous);
  }
}
