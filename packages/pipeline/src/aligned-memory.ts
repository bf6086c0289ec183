/** The part of Node's WebAssembly global used here (@types/node 20 does not declare it). */
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => { buffer: ArrayBufferLike } } }).WebAssembly;

/** 64 KiB, WebAssembly's page. */
export const WASM_PAGE = 65536;

/**
 * Memory whose first byte is page-aligned, as O_DIRECT needs its buffers: WebAssembly memory is
 * mapped by the engine at a page boundary, a Buffer's bytes are not. `shared` for worker threads.
 */
export function pageAlignedMemory<Shared extends boolean>(pages: number, shared: Shared): Shared extends true ? SharedArrayBuffer : ArrayBuffer {
  return new wasm.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) }).buffer as Shared extends true ? SharedArrayBuffer : ArrayBuffer;
}
