/**
 * The pipeline library the runtime runs for every sync: mapping, validation, cleaning, deduplication,
 * set-based upsert, quarantine, and GDPR/CCPA operations.
 */
export { PIPELINE_MIGRATIONS } from './migrations';
export {
  loadMappings,
  transformRecords,
  reverseRecords,
  reverseMapping,
  MappingError,
  MAPPING_SPECS,
  type Mapping,
  type MappingSet,
  type ConflictPolicy,
} from './mappings';
export {
  validateRecords,
  VALIDATION_RULES,
  type ValidationRules,
  type FieldError,
  type InvalidRecord,
} from './validation';
export {
  runBatch,
  runStream,
  listQuarantine,
  amendQuarantine,
  replayQuarantine,
  recordPushes,
  type BatchResult,
  type BatchInput,
  type PipelineOptions,
  type QuarantineItem,
} from './batch';
export {
  eraseSubject,
  optOut,
  isOptedOut,
  filterOptedOut,
  applyRetention,
  claimErasureRequests,
  completeErasureRequest,
  type ErasureRequest,
} from './compliance';
export {
  maskPii,
  classifyField,
  FieldCipher,
  cipherFromEnv,
  protectRecord,
  revealRecord,
  subjectHash,
  type Role,
} from './privacy';
