// Serialises writers inside one process so they do not race each other into compare-and-swap retries.
// CAS on the ref still protects against writers in other processes (an operator, a second server).
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;

  get length(): number {
    return this.depth;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.depth++;
    const result = this.tail.then(task, task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => this.depth--);
  }
}
