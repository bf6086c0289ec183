;; XOR `n` bytes at `data` in place with the bytes at `key` (both in the shared memory).
;; 64 bytes per step in four 128-bit lanes, then a byte loop for the tail. Built into
;; xor-kernel.wasm.ts by scripts/build-xor-kernel.ts; the key is pre-expanded by the caller, so this
;; is one straight pass at memory speed.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "xor") (param $data i32) (param $key i32) (param $n i32)
    (local $vectorEnd i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $data) (local.get $n)))
    (local.set $vectorEnd (i32.add (local.get $data) (i32.and (local.get $n) (i32.const -64))))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $data) (local.get $vectorEnd)))
        (v128.store offset=0 (local.get $data)
          (v128.xor (v128.load offset=0 (local.get $data)) (v128.load offset=0 (local.get $key))))
        (v128.store offset=16 (local.get $data)
          (v128.xor (v128.load offset=16 (local.get $data)) (v128.load offset=16 (local.get $key))))
        (v128.store offset=32 (local.get $data)
          (v128.xor (v128.load offset=32 (local.get $data)) (v128.load offset=32 (local.get $key))))
        (v128.store offset=48 (local.get $data)
          (v128.xor (v128.load offset=48 (local.get $data)) (v128.load offset=48 (local.get $key))))
        (local.set $data (i32.add (local.get $data) (i32.const 64)))
        (local.set $key (i32.add (local.get $key) (i32.const 64)))
        (br $vectors)))
    (block $bytesDone
      (loop $bytes
        (br_if $bytesDone (i32.ge_u (local.get $data) (local.get $end)))
        (i32.store8 (local.get $data)
          (i32.xor (i32.load8_u (local.get $data)) (i32.load8_u (local.get $key))))
        (local.set $data (i32.add (local.get $data) (i32.const 1)))
        (local.set $key (i32.add (local.get $key) (i32.const 1)))
        (br $bytes)))))
