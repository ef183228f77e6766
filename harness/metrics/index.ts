/** The metrics stage: ROUGE with rouge_score parity, aggregation, paired statistics, continuation bias. */
export { aggregateRouge, bootstrapInterval, type Interval, mean, percentile } from "./aggregate.ts";
export {
  analyseOutput,
  type ContinuationInput,
  type ContinuationReport,
  type ContinuationResult,
  continuationBias,
} from "./continuation.ts";
export { evaluateAggregate } from "./numpy.ts";
export { type ArmScores, type PairedOptions, type PairedResult, pairedCompare } from "./paired.ts";
export { porterStem } from "./porter.ts";
export {
  fmeasure,
  ROUGE_TYPES,
  type RougeOptions,
  type RougePair,
  type RougeScores,
  type RougeType,
  rougeScore,
  rougeScoreAll,
  type Score,
} from "./rouge.ts";
export { rougeTokenize } from "./tokenize.ts";
