;; float16 a + b as torch 1.13.1 adds on the CPU (see half-add.ts), 8 elements per step in 128-bit
;; lanes: each float16 widened to float32 exactly (normals rebiased, subnormals as mantissa * 2^-24,
;; infinities and NaNs to exponent 255), the pair added in float32, the sum rounded to nearest-even
;; float16 (add 0xfff plus the kept lowest bit, cut 13 bits; a carry may reach 0x7c00, infinity).
;; A step whose sum leaves the float16 normal range in any lane (a subnormal or zero sum, an
;; overflow, a NaN) is listed (its index appended to the i32 list at $list; the count returned) for
;; the caller to redo in scalar code, which also knows torch's NaN signs. Written out in one function: V8 does not inline wasm calls here, and the
;; calls cost half the time. Built into half-add-kernel.wasm.ts by scripts/build-half-add-kernel.ts.
(module
  (import "env" "memory" (memory 1 65536))
  ;; out[i] = a[i] + b[i] for 8 * $steps float16s (out may be a); returns how many steps it listed.
  (func (export "addHalf") (param $a i32) (param $b i32) (param $out i32) (param $list i32) (param $steps i32) (result i32)
    (local $va v128) (local $vb v128) (local $h v128) (local $em v128) (local $shifted v128)
    (local $wa v128) (local $wb v128) (local $lo v128) (local $hi v128) (local $abs v128) (local $special v128)
    (local $step i32) (local $listed i32)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $step) (local.get $steps)))
        (local.set $va (v128.load (local.get $a)))
        (local.set $vb (v128.load (local.get $b)))
        (local.set $special (v128.const i32x4 0 0 0 0))
        ;; widen: float16 bits to float32, exactly
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $va)))
        (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
        (local.set $shifted (i32x4.shl (local.get $em) (i32.const 13)))
        (local.set $wa (v128.or
          (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
          (v128.bitselect
            (i32x4.add (local.get $shifted) (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
            (v128.bitselect
              (f32x4.mul (f32x4.convert_i32x4_u (local.get $em)) (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
              (i32x4.add (local.get $shifted) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
              (i32x4.lt_u (local.get $em) (v128.const i32x4 0x400 0x400 0x400 0x400)))
            (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)))))
        ;; widen: float16 bits to float32, exactly
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $vb)))
        (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
        (local.set $shifted (i32x4.shl (local.get $em) (i32.const 13)))
        (local.set $wb (v128.or
          (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
          (v128.bitselect
            (i32x4.add (local.get $shifted) (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
            (v128.bitselect
              (f32x4.mul (f32x4.convert_i32x4_u (local.get $em)) (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
              (i32x4.add (local.get $shifted) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
              (i32x4.lt_u (local.get $em) (v128.const i32x4 0x400 0x400 0x400 0x400)))
            (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)))))
        (local.set $lo (f32x4.add (local.get $wa) (local.get $wb)))
        ;; narrow: the float32 sum to float16 bits, nearest-even; outside the normal range flagged
        (local.set $abs (v128.and (local.get $lo) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
        (local.set $special (v128.or (local.get $special) (v128.or
          (i32x4.lt_u (local.get $abs) (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
          (i32x4.ge_u (local.get $abs) (v128.const i32x4 0x47800000 0x47800000 0x47800000 0x47800000)))))
        (local.set $lo (v128.or
          (i32x4.shr_u (v128.and (local.get $lo) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)) (i32.const 16))
          (i32x4.sub
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $abs) (v128.const i32x4 0xfff 0xfff 0xfff 0xfff))
                (v128.and (i32x4.shr_u (local.get $abs) (i32.const 13)) (v128.const i32x4 1 1 1 1)))
              (i32.const 13))
            (v128.const i32x4 0x1c000 0x1c000 0x1c000 0x1c000))))
        ;; widen: float16 bits to float32, exactly
        (local.set $h (i32x4.extend_high_i16x8_u (local.get $va)))
        (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
        (local.set $shifted (i32x4.shl (local.get $em) (i32.const 13)))
        (local.set $wa (v128.or
          (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
          (v128.bitselect
            (i32x4.add (local.get $shifted) (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
            (v128.bitselect
              (f32x4.mul (f32x4.convert_i32x4_u (local.get $em)) (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
              (i32x4.add (local.get $shifted) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
              (i32x4.lt_u (local.get $em) (v128.const i32x4 0x400 0x400 0x400 0x400)))
            (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)))))
        ;; widen: float16 bits to float32, exactly
        (local.set $h (i32x4.extend_high_i16x8_u (local.get $vb)))
        (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
        (local.set $shifted (i32x4.shl (local.get $em) (i32.const 13)))
        (local.set $wb (v128.or
          (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
          (v128.bitselect
            (i32x4.add (local.get $shifted) (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
            (v128.bitselect
              (f32x4.mul (f32x4.convert_i32x4_u (local.get $em)) (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
              (i32x4.add (local.get $shifted) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
              (i32x4.lt_u (local.get $em) (v128.const i32x4 0x400 0x400 0x400 0x400)))
            (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)))))
        (local.set $hi (f32x4.add (local.get $wa) (local.get $wb)))
        ;; narrow: the float32 sum to float16 bits, nearest-even; outside the normal range flagged
        (local.set $abs (v128.and (local.get $hi) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
        (local.set $special (v128.or (local.get $special) (v128.or
          (i32x4.lt_u (local.get $abs) (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
          (i32x4.ge_u (local.get $abs) (v128.const i32x4 0x47800000 0x47800000 0x47800000 0x47800000)))))
        (local.set $hi (v128.or
          (i32x4.shr_u (v128.and (local.get $hi) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)) (i32.const 16))
          (i32x4.sub
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $abs) (v128.const i32x4 0xfff 0xfff 0xfff 0xfff))
                (v128.and (i32x4.shr_u (local.get $abs) (i32.const 13)) (v128.const i32x4 1 1 1 1)))
              (i32.const 13))
            (v128.const i32x4 0x1c000 0x1c000 0x1c000 0x1c000))))
        (v128.store (local.get $out) (i16x8.narrow_i32x4_u (local.get $lo) (local.get $hi)))
        ;; branchless: the index is always written, and kept by moving on only when the step is special
        (i32.store (i32.add (local.get $list) (i32.shl (local.get $listed) (i32.const 2))) (local.get $step))
        (local.set $listed (i32.add (local.get $listed) (v128.any_true (local.get $special))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $step (i32.add (local.get $step) (i32.const 1)))
        (br $step)))
    (local.get $listed)))
