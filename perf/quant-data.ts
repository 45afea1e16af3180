/**
 * Test data of the quantizer benchmarks (scripts/bench-quant.ts and
 * `msq bench`): deterministic heavy-tailed values, xorshift + Box-Muller,
 * 1 % of them 1000x larger (a few outliers per block, as in LLM weights).
 */
export function heavyTailedData(count: number): Float32Array {
  const out = new Float32Array(count);
  let s = 0x9e3779b9 >>> 0;
  const rnd = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  for (let i = 0; i < count; i++) {
    const g = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
    out[i] = rnd() < 0.01 ? g * 20 : g * 0.02;
  }
  return out;
}
