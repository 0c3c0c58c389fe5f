// The one way every control loop runs (sample-controller's skeleton, written once): change
// handlers on the shared caches only enqueue keys; a work queue per loop hands each key to one
// worker at a time; the worker reads the current state from the caches, plans, executes, and then
// waits until the caches reflect the pass's own writes before the key counts as handled, so that
// the next pass never acts on a view older than what it did (no duplicate pods). A failed action
// fails the pass: the key is retried with back-off. See types.ts.

import type { Resource } from '../../proto/resources';
import { newCaches, startCaches, stopCaches, type Caches, type ChangeHandler, type Informer } from '../cache';
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
  /** Add change handlers to the caches; they only enqueue keys (see enqueueObject, enqueueController). */
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

/** A change handler that enqueues the changed object's own key (controller-runtime's For). */
export function enqueueObject(enqueue: (key: string) => void): ChangeHandler<Resource> {
  return (_type, obj) => enqueue(queueKey(obj.metadata.namespace, obj.metadata.name));
}

/** A change handler that enqueues the key of the object's controller when it is a `kind` (controller-runtime's Owns). */
export function enqueueController(kind: string, enqueue: (key: string) => void): ChangeHandler<Resource> {
  return (_type, obj) => {
    const owner = controllerRef(obj);
    if (owner?.kind === kind) enqueue(queueKey(obj.metadata.namespace, owner.name));
  };
}

/** The object a key names, unless it is gone or being deleted (then there is nothing to do). */
export function liveObject<T extends Resource>(cache: Informer<T>, key: string): T | undefined {
  const [namespace, name] = splitKey(key);
  const obj = cache.get(namespace, name);
  return obj && !obj.metadata.deletionTimestamp ? obj : undefined;
}

/** A plan's requeueAfterMs as the queue wants it. */
export function requeueAfter(ms: number | undefined): HandlerResult | undefined {
  return ms !== undefined ? { requeueAfterMs: ms } : undefined;
}
