/**
 * Public API of the MicroScopiQ quantizer (what the hardware generator, the
 * hardware reference model, the CLI and the scripts use). docs/FORMAT.md and
 * docs/ARITHMETIC.md describe the format and the arithmetic contract.
 */
export {
  resolveConfig, DEFAULTS, INLIER_NAMES, OUTLIER_NAMES, RECON_TOPOLOGIES, UBLOCK_SIZES, OUTLIERS_FOR, inlierElement,
  type MsqConfig, type MsqOptions, type InlierName, type OutlierName, type ReconTopology, type OutlierRule,
} from './config.ts';
export {
  OUTLIER_FORMATS, outlierFormat, findOutlierFormat, outlierFormatById, outlierFormatsForSlotBits, defaultOutlierFormat,
  officialDefaultOutlierFormat, type OutlierFormat,
} from './outlier-formats.ts';
export { quantizeMicroScopiQ, type QuantizeOptions, type Calibration } from './quantizer.ts';
export {
  dequantize, slotLaneValue, ublockIndex, SLOT_INLIER, SLOT_OUTLIER, SLOT_PRUNED,
  type MsqLayer, type MsqPairs, type MsqStats,
} from './layer.ts';
export { encodePacked, decodePacked, decodeHeader, encodeRecordStream, HEADER_BYTES, MSQ_MAGIC, MSQ_VERSION } from './packed.ts';
export { writeRecord, readRecord, recordLayout, partnerSlot, RecordFields, type RecordLayout, type BitSource, type PairCheck } from './record.ts';
export { BitReader, BitWriter } from './bitstream.ts';
export { effectiveBits, ebwReport, type EbwReport } from './ebw.ts';
export {
  isButterflyRoutable, isCrossbarRoutable, isRoutable, butterflyStage, butterflySettings, PairingSolver,
  type SlotPair, type SwitchSetting,
} from './pairing.ts';
export { decodeOutlier, quantizeOutlier, outlierWindow, outlierValueInLsb, upperHalf, lowerHalf, type DecodedOutlier } from './outlier-code.ts';
export { quantizeActivations, dequantizeActivations, intElementOfWidth, type MsqActivations } from './activations.ts';
export { referenceMatmul, floatReference, groupAccumulators, groupExponent, laneValues, accumulatorBits } from './reference.ts';
export { quantizeOfficial, officialFormat, type OfficialOptions } from './official.ts';
export { hessianFromCalibration, gptqInverseFactor, choleskyInPlace } from './hessian.ts';
