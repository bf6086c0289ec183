/** A fixed set of equal slots in the shared memory; `acquire` waits while all are in use. */
export class SlotPool {
  private readonly free: number[] = [];
  private readonly waiting: ((offset: number) => void)[] = [];

  constructor(
    readonly firstOffset: number,
    readonly slotBytes: number,
    readonly count: number,
  ) {
    for (let i = count - 1; i >= 0; i--) this.free.push(firstOffset + i * slotBytes);
  }

  acquire(): Promise<number> {
    const offset = this.free.pop();
    if (offset !== undefined) return Promise.resolve(offset);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(offset: number): void {
    const next = this.waiting.shift();
    if (next) next(offset);
    else this.free.push(offset);
  }
}
