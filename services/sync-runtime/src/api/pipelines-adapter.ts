/** pipelines/index.ts seen through the interface the routes and the 'pipeline' job use. */
import {
  FieldCipher,
  eraseSubject,
  isOptedOut,
  listQuarantine,
  loadMappings,
  maskPii,
  optOut,
  replayQuarantine,
  runBatch,
  transformRecords,
  validateRecords,
} from '@data-sync/pipelines';
import { RUNTIME_PERSONAL_DATA } from '../store/personal-data';
import type { PipelinesApi } from './deps';

/** `cipher` encrypts the sensitive fields of quarantined raw records (DATA_SYNC_ENCRYPTION_KEY). */
export function createPipelinesApi(options: { cipher?: FieldCipher } = {}): PipelinesApi {
  const mappings = loadMappings();
  const names = [...mappings.mappings.keys()];
  return {
    mappingNames: () => names,
    direction: (mapping) => mappings.get(mapping).direction,
    validateRecords: (mapping, records) => validateRecords(mapping, records),
    transformRecords: (mapping, records) => transformRecords(mapping, records),
    runBatch: (db, input) => runBatch(db, input, { cipher: options.cipher }),
    listQuarantine: (db, q) => listQuarantine(db, q),
    replayQuarantine: (db, ids) => replayQuarantine(db, ids, { cipher: options.cipher }),
    eraseSubject: (db, email, opts) => eraseSubject(db, email, { ...opts, other: RUNTIME_PERSONAL_DATA }),
    optOut: (db, email, opts) => optOut(db, email, opts),
    isOptedOut: (db, email) => isOptedOut(db, email),
    maskPii: (record, role) => maskPii(record, role),
  };
}
