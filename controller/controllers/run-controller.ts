// The one way every control loop runs (sample-controller's skeleton, written once): change
// handlers on the shared caches only enqueue keys; a work queue per loop hands each key to one
// worker at a time; the worker reads the current state from the caches, plans, executes, and then
// waits until the caches reflect the pass's own writes before the key counts as handled, so that
// the next pass never acts on a view older than what it did (no duplicate pods). A failed action
// fails the pass: the key is retried with back-off. See types.ts.

import type { Resource } from '../../proto/resources';
import { newCaches, startCaches, stopCaches, type Caches, type Informer } from '../cache';
import { eventRecorder, type Clock, type EventRecorder, type Registry } from '../objects';
import { controllerRef } from './meta';
import { WorkQueue, type HandlerResult } from './queue';
import { WrittenRevisions } from './written';

/** What every loop's worker is given. */
export interface ControllerContext {
  registry: Registry;
  clock: Clock;
  caches: Caches;
  record: EventRecorder;
}

/** One control loop: what it watches, and how it reconciles a key. */
export interface ControlLoop {
  /** Keys handled at once (never one key by two workers). */
  workers: number;
  /** Add change handlers to the caches; they only enqueue keys (objectLoop writes this for a kind's objects). */
  watch(caches: Caches, enqueue: (key: string) => void): void;
  /** Cluster-wide keys to look at once on start (the caches' first list enqueues the others). */
  initialKeys?: readonly string[];
  /**
   * Bring the key's objects to their desired state. Note every write in `written`: the runner
   * waits for the caches to reach them. Not found means done.
   */
  reconcile(ctx: ControllerContext, key: string, written: WrittenRevisions): Promise<HandlerResult | void>;
}

export interface RunningControllers {
  stop(): void;
}

/** Start the caches, then every loop's workers; resolves once the caches hold their first list. */
export async function runControllers(registry: Registry, clock: Clock, loops: readonly ControlLoop[]): Promise<RunningControllers> {
  const caches = newCaches(registry);
  const ctx: ControllerContext = { registry, clock, caches, record: eventRecorder(registry, clock) };
  const queues = loops.map((loop) => {
    const queue = new WorkQueue();
    loop.watch(caches, (key) => queue.add(key));
    return queue;
  });
  await startCaches(caches);

  loops.forEach((loop, i) => {
    void queues[i]!.run(loop.workers, async (key) => {
      const written = new WrittenRevisions();
      const result = await loop.reconcile(ctx, key, written);
      await written.caughtUp();
      return result;
    });
  });
  // Level-triggered from the start: look at everything once.
  loops.forEach((loop, i) => {
    for (const key of loop.initialKeys ?? []) queues[i]!.add(key);
  });

  return {
    stop() {
      for (const q of queues) q.shutdown();
      stopCaches(caches);
    },
  };
}

/** The work-queue key of a namespaced object: `namespace/name`. */
export const queueKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? 'default'}/${name ?? ''}`;

export function splitKey(key: string): [string | undefined, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? [undefined, key] : [key.slice(0, slash) || undefined, key.slice(slash + 1)];
}

/**
 * A loop over one kind's objects, keyed `namespace/name` (controller-runtime's For(...).Owns(...)):
 * woken by a change to the object and to any object it controls; a key whose object is gone or
 * being deleted is done (what it controls goes through the garbage collector).
 */
export function objectLoop<T extends Resource, O extends Resource>(options: {
  workers: number;
  /** The objects this loop reconciles. */
  objects: (caches: Caches) => Informer<T>;
  /** The objects they control (ownerReference with controller: true). */
  owned: (caches: Caches) => Informer<O>;
  reconcile(ctx: ControllerContext, object: T, written: WrittenRevisions): Promise<HandlerResult | void>;
}): ControlLoop {
  return {
    workers: options.workers,
    watch(caches, enqueue) {
      const objects = options.objects(caches);
      objects.onChange((_type, obj) => enqueue(queueKey(obj.metadata.namespace, obj.metadata.name)));
      options.owned(caches).onChange((_type, obj) => {
        const owner = controllerRef(obj);
        if (owner?.kind === objects.kind) enqueue(queueKey(obj.metadata.namespace, owner.name));
      });
    },
    async reconcile(ctx, key, written) {
      const [namespace, name] = splitKey(key);
      const obj = options.objects(ctx.caches).get(namespace, name);
      if (!obj || obj.metadata.deletionTimestamp) return;
      return options.reconcile(ctx, obj, written);
    },
  };
}

/**
 * Watch for a loop whose objects sum up their namespace (a budget its pods, a quota its objects):
 * an object's key on its own change, and every such object of a namespace when anything in
 * `sources` changes there.
 */
export function watchNamespaceSummaries<T extends Resource>(objects: Informer<T>, sources: readonly Informer[], enqueue: (key: string) => void): void {
  objects.onChange((_type, obj) => enqueue(queueKey(obj.metadata.namespace, obj.metadata.name)));
  const wake = (_type: string, changed: Resource) => {
    for (const obj of objects.list((o) => o.metadata.namespace === changed.metadata.namespace)) enqueue(queueKey(obj.metadata.namespace, obj.metadata.name));
  };
  for (const source of sources) source.onChange(wake);
}

/** Write an object's status, unless it was replaced meanwhile by another of its name (uid). */
export async function writeStatus<T extends Resource & { status?: unknown }>(
  ctx: ControllerContext, cache: Informer<T>, written: WrittenRevisions, object: T, status: T['status'],
): Promise<void> {
  written.note(cache, await ctx.registry.mutate<T>(object.kind, object.metadata.namespace, object.metadata.name!, (current) =>
    current.metadata.uid === object.metadata.uid ? { ...current, status } : undefined));
}

/**
 * Write an object's status only if the object is still the version `object` is (its
 * resourceVersion): for a status others write too (an eviction takes a budget's disruption, an
 * admission charges a quota), where a status computed from an older view must not undo theirs.
 * A conflict is no error: their write wakes the key again, and the next pass sees it.
 */
export async function writeStatusIfUnchanged<T extends Resource & { status?: unknown }>(
  ctx: ControllerContext, cache: Informer<T>, written: WrittenRevisions, object: T, status: T['status'],
): Promise<void> {
  try {
    written.note(cache, await ctx.registry.update<T>({ ...object, status }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'conflict' && code !== 'not-found') throw err;
  }
}

/** A plan's requeueAfterMs as the queue wants it. */
export function requeueAfter(ms: number | undefined): HandlerResult | undefined {
  return ms !== undefined ? { requeueAfterMs: ms } : undefined;
}
