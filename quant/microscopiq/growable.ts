/**
 * Growable typed buffers of the quantizer: they start small and double, so a
 * run never allocates per element.
 */

function grow<T extends Uint32Array | Uint8Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** The pairs of a layer as the solver finds them: μB, outlier slot, partner slot, 2b-bit code. */
export class PairList {
  n = 0;
  ublock = new Uint32Array(1024);
  o = new Uint8Array(1024);
  p = new Uint8Array(1024);
  code = new Uint8Array(1024);

  push(u: number, o: number, p: number, code: number): void {
    if (this.n === this.ublock.length) {
      this.ublock = grow(this.ublock);
      this.o = grow(this.o);
      this.p = grow(this.p);
      this.code = grow(this.code);
    }
    this.ublock[this.n] = u;
    this.o[this.n] = o;
    this.p[this.n] = p;
    this.code[this.n] = code;
    this.n++;
  }
}

/** Candidate keys k·Np + n (a float64 array sorts numerically and fast). */
export class KeyList {
  a = new Float64Array(4096);
  n = 0;

  push(x: number): void {
    if (this.n === this.a.length) this.a = grow(this.a);
    this.a[this.n++] = x;
  }

  sorted(): Float64Array {
    return this.a.subarray(0, this.n).sort();
  }
}
