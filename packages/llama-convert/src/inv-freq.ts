/**
 * The rotary inverse frequencies the 2023 converter stored per layer
 * (`1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))`, base 10000), step by
 * step in float32 as torch 1.13.1 computes them: i/head_dim rounded to float32, the power rounded
 * to float32, the reciprocal rounded to float32.
 *
 * torch's power is Sleef's powf (1-ulp accuracy) on AVX2 machines and this is the correctly rounded
 * one: they agree for head dim 128 (every published LLaMA size) and the small test sizes, and
 * differ by one ulp in one element for some others (96, 100, 256: see inv-freq.test.ts).
 */
export function rotaryInvFreq(headDim: number, base = 10000): Float32Array {
  const out = new Float32Array(headDim / 2);
  const dim = Math.fround(headDim);
  for (let i = 0; i < out.length; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / dim);
    out[i] = Math.fround(1 / Math.fround(base ** exponent));
  }
  return out;
}

/**
 * The inv_freq buffer as it reached the HF shards. The converter saved float32 values, but
 * `LlamaForCausalLM.from_pretrained(tmp, torch_dtype=torch.float16, low_cpu_mem_usage=True)` cast
 * every floating tensor it loaded to float16 (modeling_utils `_load_state_dict_into_meta_model`,
 * `param.to(dtype)`) and accelerate 0.18's `set_module_tensor_to_device` cast it back to the
 * buffer's float32 (`value.to(old_value.dtype)`); save_pretrained then wrote float32 (the 30B
 * index's total_size counts 4 bytes per element). So the values are float16-rounded.
 */
export function savedRotaryInvFreq(headDim: number): Float32Array {
  const exact = rotaryInvFreq(headDim);
  return exact.map((value) => roundToFloat16(value));
}

/** float32 -> float16 -> float32, round to nearest even, as torch's `.half().float()`. */
export function roundToFloat16(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(value))), -14);
  const quantum = 2 ** (exponent - 10);
  const scaled = value / quantum;
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  const result = rounded * quantum;
  return Math.abs(result) > 65504 ? Math.sign(value) * Number.POSITIVE_INFINITY : result;
}
