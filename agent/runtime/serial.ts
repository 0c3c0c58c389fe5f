// One queue per container: verbs on one container never interleave (a stop racing a restart, an
// exit racing a rm), while different containers proceed in parallel.

export class ContainerQueues {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Run `fn` after every earlier operation on the same container. */
  serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return next;
  }
}
