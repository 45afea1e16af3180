/**
 * The outlier formats of the MicroScopiQ quantizer, one record each: the
 * single place that names them. A 2b-bit outlier code spans the two b-bit
 * slots of an outlier and its pruned partner, so a format serves the inlier
 * width b = bits / 2. Adding a format = adding a record here (its element
 * format, the split, must exist in quant/formats.ts); config, packed header,
 * compare tokens and labels, the CLI's --outlier list and the hardware decode
 * take everything from the record.
 */
import { fpElementFormat, type FpElementFormat } from '../formats.ts';

/** What a record states; the rest (OutlierFormat) is derived from it. */
interface OutlierFormatSpec {
  /** User-facing name (--outlier): 'mx' + the element format's name. */
  readonly name: string;
  /** Exponent / mantissa split of the FP element (quant/formats.ts). */
  readonly ebits: number;
  readonly mbits: number;
  /** Outlier format code in the packed .msq header (byte 6, docs/FORMAT.md). */
  readonly headerId: number;
  /** The default outlier format of its slot width (exactly one per width). */
  readonly isDefault: boolean;
  /** The official MicroScopiQ code's default for its width (--compat official; exactly one per width). */
  readonly officialDefault: boolean;
  /** Token of a compare spec (microscopiq+TAG) choosing this format; none for the only format of a width. */
  readonly specTag?: string;
  /** Defaults measured per format (docs/QUALITY.md): D0 and the width of the X field. */
  readonly defaults: { readonly outlierExpOffset: number; readonly xbits: number };
}

const SPECS = [
  { name: 'mxfp4_e2m1', ebits: 2, mbits: 1, headerId: 0, isDefault: true, officialDefault: true, defaults: { outlierExpOffset: 1, xbits: 2 } },
  { name: 'mxfp8_e4m3', ebits: 4, mbits: 3, headerId: 1, isDefault: false, officialDefault: true, specTag: 'e4m3', defaults: { outlierExpOffset: -3, xbits: 0 } },
  { name: 'mxfp8_e3m4', ebits: 3, mbits: 4, headerId: 2, isDefault: true, officialDefault: false, specTag: 'e3m4', defaults: { outlierExpOffset: 3, xbits: 0 } },
] as const satisfies readonly OutlierFormatSpec[];

export type OutlierName = (typeof SPECS)[number]['name'];

/** One outlier format: the record and what follows from it. */
export interface OutlierFormat extends OutlierFormatSpec {
  readonly name: OutlierName;
  /** The FP element format (quant/formats.ts): bits, bias, emax, maxNormal, specials. */
  readonly element: FpElementFormat;
  /** Code bits, 2b. */
  readonly bits: number;
  /** Exponent of the element's top binade. */
  readonly emax: number;
  /** b: the slot (inlier) width whose two slots hold one code. */
  readonly slotBits: number;
}

/** Every outlier format, in the order shown to users. */
export const OUTLIER_FORMATS: readonly OutlierFormat[] = SPECS.map((s) => {
  const element = fpElementFormat(s.ebits, s.mbits);
  if (s.name !== `mx${element.name}`) throw new Error(`internal: outlier format ${s.name} is not named after its element ${element.name}`);
  if (element.bits % 2 !== 0) throw new Error(`internal: outlier format ${s.name} has an odd code width`);
  return Object.freeze({ ...s, element, bits: element.bits, emax: element.emax, slotBits: element.bits / 2 });
});

export const OUTLIER_NAMES: readonly OutlierName[] = OUTLIER_FORMATS.map((f) => f.name);

/** The record of a format name, or undefined for an unknown name. */
export function findOutlierFormat(name: unknown): OutlierFormat | undefined {
  return OUTLIER_FORMATS.find((f) => f.name === name);
}

export function outlierFormat(name: OutlierName): OutlierFormat {
  const f = findOutlierFormat(name);
  if (!f) throw new Error(`internal: unknown outlier format ${name}`);
  return f;
}

/** The format stored under a packed header code, or undefined. */
export function outlierFormatById(id: number): OutlierFormat | undefined {
  return OUTLIER_FORMATS.find((f) => f.headerId === id);
}

/** The formats of slot width b, the default first. */
export function outlierFormatsForSlotBits(b: number): readonly OutlierFormat[] {
  const all = OUTLIER_FORMATS.filter((f) => f.slotBits === b);
  return [...all.filter((f) => f.isDefault), ...all.filter((f) => !f.isDefault)];
}

function onlyOne(b: number, what: 'isDefault' | 'officialDefault'): OutlierFormat {
  const hits = OUTLIER_FORMATS.filter((f) => f.slotBits === b && f[what]);
  if (hits.length !== 1) throw new Error(`internal: ${hits.length} outlier formats are marked ${what} for ${b}-bit slots`);
  return hits[0]!;
}

/** The default outlier format of slot width b. */
export function defaultOutlierFormat(b: number): OutlierFormat {
  return onlyOne(b, 'isDefault');
}

/** The official MicroScopiQ code's default outlier format of slot width b. */
export function officialDefaultOutlierFormat(b: number): OutlierFormat {
  return onlyOne(b, 'officialDefault');
}

/** The format a compare-spec token names, or undefined. */
export function outlierFormatByTag(tag: string): OutlierFormat | undefined {
  return OUTLIER_FORMATS.find((f) => f.specTag === tag);
}

/** The compare-spec tokens, in registry order. */
export const OUTLIER_SPEC_TAGS: readonly string[] = OUTLIER_FORMATS.flatMap((f) => (f.specTag ? [f.specTag] : []));
