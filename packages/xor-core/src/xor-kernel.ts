import { xorKernelWasm } from "./xor-kernel.wasm.js";

/** The part of Node's WebAssembly global used here (@types/node 20 does not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const PAGE_BYTES = 64 * 1024;
const compiled = new wasm.Module(Buffer.from(xorKernelWasm, "base64"));

/**
 * A WebAssembly SIMD XOR over one shared memory. Reads land straight in this memory and hash workers
 * read it in place, so chunk data is never copied between the disk, the XOR and the hashes
 * (measured: ~17 GB/s in place against ~2.4 GB/s for a Uint32Array loop).
 */
export class XorKernel {
  /** The whole memory as bytes; its buffer is a SharedArrayBuffer that workers can be given. */
  readonly bytes: Uint8Array;
  private readonly xorExport: (data: number, key: number, length: number) => void;

  constructor(byteLength: number) {
    const pages = Math.ceil(byteLength / PAGE_BYTES);
    const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new wasm.Instance(compiled, { env: { memory } });
    this.xorExport = instance.exports.xor as (data: number, key: number, length: number) => void;
    this.bytes = new Uint8Array(memory.buffer);
  }

  get buffer(): SharedArrayBuffer {
    return this.bytes.buffer as unknown as SharedArrayBuffer;
  }

  /** bytes[data + i] ^= bytes[key + i] for i < length. */
  xor(data: number, key: number, length: number): void {
    if (data < 0 || key < 0 || data + length > this.bytes.length || key + length > this.bytes.length) {
      throw new RangeError(`xor(${data}, ${key}, ${length}) outside the kernel's ${this.bytes.length} bytes`);
    }
    this.xorExport(data, key, length);
  }
}
