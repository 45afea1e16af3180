/**
 * Bit streams of 32-bit little-endian words, least significant bit first:
 * stream bit i is bit (i mod 32) of word floor(i / 32), and a field of width w
 * holding value v occupies stream bits [pos, pos + w) with bit t of v at pos + t.
 * This is the packing of the MicroScopiQ record stream (docs/FORMAT.md).
 */

export class BitWriter {
  private words: Uint32Array;
  /** Bits written so far. */
  pos = 0;

  constructor(initialWords = 1024) {
    this.words = new Uint32Array(Math.max(1, initialWords));
  }

  /** Appends the low `width` bits of `value` (0 <= width <= 32). */
  write(value: number, width: number): void {
    if (width === 0) return;
    const needWords = Math.ceil((this.pos + width) / 32) + 1;
    if (needWords > this.words.length) {
      const w = new Uint32Array(Math.max(needWords, this.words.length * 2));
      w.set(this.words);
      this.words = w;
    }
    const v = width === 32 ? value >>> 0 : (value & ((1 << width) - 1)) >>> 0;
    const wi = this.pos >>> 5;
    const bi = this.pos & 31;
    this.words[wi] = (this.words[wi]! | (v << bi)) >>> 0;
    if (bi + width > 32) this.words[wi + 1] = (this.words[wi + 1]! | (v >>> (32 - bi))) >>> 0;
    this.pos += width;
  }

  /** The written words; the last one is zero-padded. */
  finish(): Uint32Array {
    return this.words.slice(0, Math.ceil(this.pos / 32));
  }
}

export class BitReader {
  readonly words: Uint32Array;
  readonly limit: number;
  pos = 0;

  constructor(words: Uint32Array, limitBits = words.length * 32) {
    this.words = words;
    this.limit = limitBits;
  }

  /** Reads `width` bits (0..32) as an unsigned number; throws RangeError past the end. */
  read(width: number): number {
    if (width === 0) return 0;
    if (this.pos + width > this.limit) throw new RangeError(`bit stream ends at bit ${this.limit}, a field needs bits ${this.pos}..${this.pos + width - 1}`);
    const wi = this.pos >>> 5;
    const bi = this.pos & 31;
    let v = this.words[wi]! >>> bi;
    if (bi + width > 32) v = (v | (this.words[wi + 1]! << (32 - bi))) >>> 0;
    this.pos += width;
    return width === 32 ? v >>> 0 : v & ((1 << width) - 1);
  }
}
