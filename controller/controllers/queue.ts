// The one work queue every controller uses, with client-go's workqueue semantics:
//
// - add(key) coalesces: a key waiting in the queue is there once, however often it is added.
// - A key is never handed to two workers at once: adding a key that is being processed marks it
//   dirty, and it is queued again when its worker calls done(key).
// - addAfter(key, ms) adds it later (of several pending delays for one key, the earliest wins).
// - addRateLimited(key) adds it after a per-key exponential back-off (5 ms, 10 ms, ... up to 60 s
//   by default); forget(key) resets the back-off once the key is handled.
// - run(concurrency, handler): workers take keys; a handler that returns means done (forget, or
//   the requeue it asks for); one that throws is retried with back-off.
// - shutdown(): no more keys are handed out, delayed adds are cancelled, queued keys are dropped
//   (unlike client-go, which drains them: controllers are level-based and relist on start), and
//   run() resolves once every worker has finished its current key.

import { systemTimers, type TimerHandle, type Timers } from './timers';

export interface WorkQueueOptions {
  /** First back-off delay, doubled for each failure in a row. Default 5 ms. */
  baseDelayMs?: number;
  /** Ceiling of the back-off. Default 60 s. */
  maxDelayMs?: number;
  timers?: Timers;
  /** Told of each error a handler throws (the key is retried). Default: console.error. */
  onError?: (key: string, err: unknown) => void;
}

/** What a handler may ask for when it returns; nothing means "done, forget the key". */
export interface HandlerResult {
  /** Look again after this delay (the back-off is reset). */
  requeueAfterMs?: number;
  /** Look again after the back-off, without an error (e.g. waiting for a cache). */
  requeue?: boolean;
}

export type Handler = (key: string) => Promise<HandlerResult | void> | HandlerResult | void;

export class WorkQueue {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timers: Timers;
  private readonly onError: (key: string, err: unknown) => void;

  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: TimerHandle }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private stopping = false;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timers = options.timers ?? systemTimers;
    this.onError = options.onError ?? ((key, err) => console.error(`work queue: handling "${key}" failed:`, err));
    if (!(this.baseDelayMs > 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(`work queue: need 0 < baseDelayMs <= maxDelayMs, got ${this.baseDelayMs} and ${this.maxDelayMs}`);
    }
  }

  add(key: string): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again by done()
    this.enqueue(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopping) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.timers.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.timers.clearTimeout(pending.handle);
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, handle });
  }

  /** Add after the key's back-off, and lengthen the back-off for next time. */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, this.backoff(failures));
  }

  /** The delay after `failures` failures in a row: base * 2^failures, at most max. */
  backoff(failures: number): number {
    // 2^failures overflows to Infinity long after it passed the cap: the min still holds.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** failures);
  }

  /** Reset the key's back-off (it was handled). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures in a row recorded for the key. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queue.length;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** The next key, marked as being processed; undefined once the queue shuts down. Call done(key) after. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.startProcessing(key);
      return Promise.resolve(key);
    }
    if (this.stopping) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** The key's processing is over: if it was added meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.stopping) this.enqueue(key);
  }

  /** Workers that take keys until shutdown; resolves once they have all stopped. */
  async run(concurrency: number, handler: Handler): Promise<void> {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`work queue: concurrency must be a positive integer, got ${concurrency}`);
    }
    await Promise.all(Array.from({ length: concurrency }, () => this.worker(handler)));
  }

  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  private async worker(handler: Handler): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      try {
        const result = await handler(key);
        if (result?.requeue) {
          this.addRateLimited(key);
        } else {
          this.forget(key);
          if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        }
      } catch (err) {
        this.onError(key, err);
        this.addRateLimited(key);
      } finally {
        this.done(key);
      }
    }
  }

  private enqueue(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.startProcessing(key);
      getter(key);
    } else {
      this.queue.push(key);
    }
  }

  private startProcessing(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }
}
