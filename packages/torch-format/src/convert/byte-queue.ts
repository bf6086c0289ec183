/**
 * Bytes pushed in chunks of any size, read back in the sizes a parser wants. Reads that stay inside one
 * chunk are views (no copy); `detach()` copies the few bytes left over so that a caller may reuse its
 * chunk buffer as soon as push() returns.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  length = 0;

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Puts bytes back in front (what a parser read too far). */
  unshift(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.chunks.length > 0) this.chunks[0] = this.chunks[0]!.subarray(this.head);
    this.head = 0;
    this.chunks.unshift(bytes);
    this.length += bytes.length;
  }

  /** The first `count` bytes (count <= length), left in the queue. */
  peek(count: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.length - this.head >= count) return first.subarray(this.head, this.head + count);
    const copy = new Uint8Array(count);
    let filled = 0;
    for (let i = 0; filled < count; i++) {
      const chunk = this.chunks[i]!.subarray(i === 0 ? this.head : 0);
      const part = chunk.subarray(0, count - filled);
      copy.set(part, filled);
      filled += part.length;
    }
    return copy;
  }

  take(count: number): Uint8Array {
    const bytes = this.peek(count);
    this.skip(count);
    return bytes;
  }

  /** Up to `count` bytes from the first chunk, as a view. */
  takeUpTo(count: number): Uint8Array {
    const first = this.chunks[0]!;
    const part = first.subarray(this.head, this.head + Math.min(count, first.length - this.head));
    this.skip(part.length);
    return part;
  }

  skip(count: number): void {
    this.length -= count;
    while (count > 0) {
      const available = this.chunks[0]!.length - this.head;
      if (count < available) {
        this.head += count;
        return;
      }
      count -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  detach(): void {
    if (this.length > 0) this.chunks = [this.peek(this.length).slice()];
    else this.chunks = [];
    this.head = 0;
  }
}
