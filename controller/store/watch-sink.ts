// The caller's end of a watch, shared by the implementations so that both keep the same promises:
// nothing is delivered after close() or an error, onError fires at most once, and an onEvent that
// throws ends the watch with an error instead of silently losing the events after it.

import { StoreError, type StoreEvent, type WatchCallbacks, type WatchHandle } from './types';

export class WatchSink implements WatchHandle {
  private ended = false;

  /** `release` frees the implementation's resources; called once, on close or failure. */
  constructor(
    readonly prefix: string,
    private readonly callbacks: WatchCallbacks,
    private readonly release: () => void,
  ) {}

  get closed(): boolean {
    return this.ended;
  }

  /** Hand one event to the caller; false when the watch has ended (stop delivering). */
  deliver(event: StoreEvent): boolean {
    if (this.ended) return false;
    try {
      this.callbacks.onEvent(event);
    } catch (err) {
      this.fail(new StoreError('internal', `watch of "${this.prefix}" stopped: onEvent threw at revision ${event.revision} (key "${event.key}")`, { cause: err }));
      return false;
    }
    return !this.ended;
  }

  fail(err: StoreError): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.callbacks.onError(err);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
  }
}
