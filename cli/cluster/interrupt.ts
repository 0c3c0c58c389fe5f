// Verbs that run until interrupted (get -w, events -w, logs -f, apply --watch) stop cleanly on
// SIGINT or SIGTERM: their stream is cancelled and they return 0, instead of the process dying
// with the call half-open.

/** Call `stop` on the first SIGINT or SIGTERM; the returned function removes the handlers. */
export function onInterrupt(stop: () => void): () => void {
  const handler = () => {
    remove();
    stop();
  };
  const remove = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return remove;
}
