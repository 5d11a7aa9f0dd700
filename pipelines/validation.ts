/**
 * The design document's `validation_rules`, applied to records in the internal shape. A failing
 * record is returned with every failing field, the rule and a reason, for the quarantine.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { applyMapping, INTERNAL_SCHEMAS, loadMappings, LeafField, Mapping } from './mappings';

export interface FieldRule {
  readonly required?: boolean;
  readonly format?: 'email' | 'phone' | 'timestamp';
  /** Enforced by deduplication (one row per value, latest `updated_at` wins), not by rejection. */
  readonly unique?: boolean;
  /** Phone: store the E.164 form. */
  readonly normalize?: boolean;
  /** Country assumed for a phone number written without its country code. */
  readonly defaultCountry?: CountryCode;
  readonly max_length?: number;
  readonly trim?: boolean;
  /**
   * What a failure of this field's rules does: `quarantine` the record, `drop` the value and keep the
   * record, or `keep` the value as received. Default: quarantine for a required field, else drop, so
   * a malformed optional value does not cost the whole record.
   */
  readonly action?: RuleAction;
}
export type RuleAction = 'quarantine' | 'drop' | 'keep';
export type ValidationRules = Readonly<Record<string, FieldRule>>;

/** The action a failure of `field` takes under `rules`. */
export function actionFor(rules: ValidationRules, field: string): RuleAction {
  const rule = rules[field];
  return rule?.action ?? (rule?.required ? 'quarantine' : 'drop');
}
/**
 * The design document's rules, plus: name lengths (the same 255 as the company) and `updated_at`
 * required as an ISO 8601 timestamp with a zone, since the upsert orders by it and a zone-less time
 * would be read in the server's zone. The required email and updated_at quarantine a record; the
 * optional formats (phone, lengths, created_at) drop the bad value.
 */
export const VALIDATION_RULES: ValidationRules = {
  email: { required: true, format: 'email', unique: true },
  phone_number: { format: 'phone', normalize: true, defaultCountry: 'US' },
  company_name: { max_length: 255, trim: true },
  first_name: { max_length: 255 },
  last_name: { max_length: 255 },
  created_at: { format: 'timestamp' },
  updated_at: { required: true, format: 'timestamp' },
};

/** The design document's SQL filter, applied as it is there: to the email as received. */
export const EMAIL_PATTERN = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;

export interface FieldError {
  readonly field: string;
  readonly rule: string;
  readonly reason: string;
}

/** A value removed from a record that was kept (rule action `drop`). */
export interface DroppedValue extends FieldError {
  readonly index: number;
}

export interface InvalidRecord {
  readonly index: number;
  readonly record: Record<string, unknown>;
  readonly errors: FieldError[];
}

function charLength(value: string): number {
  return value.length > 0 && /[\uD800-\uDFFF]/.test(value) ? [...value].length : value.length;
}

/**
 * Phone results by the number's digits: re-syncs see the same numbers again and again, and
 * libphonenumber's validation builds regular expressions on every call. Only numbers made of digits
 * and punctuation are cached (letters and extensions take the full path); bounded by clearing.
 */
const phoneCache = new Map<string, string | null>();
const PHONE_CACHE_MAX = 200_000;
const PLAIN_PHONE = /^[0-9+\s().\-/]+$/;

function checkPhone(value: string, country: CountryCode | undefined): string | null {
  const key = PLAIN_PHONE.test(value) ? `${country ?? ''}:${value.replace(/[^0-9+]/g, '')}` : undefined;
  if (key !== undefined) {
    const hit = phoneCache.get(key);
    if (hit !== undefined) return hit;
  }
  const parsed = parsePhoneNumberFromString(value, country);
  const result = parsed && parsed.isValid() ? parsed.number : null;
  if (key !== undefined) {
    if (phoneCache.size >= PHONE_CACHE_MAX) phoneCache.clear();
    phoneCache.set(key, result);
  }
  return result;
}

const compiledRules = new WeakMap<ValidationRules, [string, FieldRule][]>();

function label(field: string, source: ReadonlyMap<string, string> | undefined): string {
  const from = source?.get(field);
  return from && from !== field ? `${field} (from ${from})` : field;
}

/**
 * Checks and normalizes one internal record; `source` names the vendor field each internal field came
 * from. With `inPlace` the record itself is normalized (the caller owns it), which saves a copy per
 * record on the hot path.
 */
export function validateInternal(
  record: Record<string, unknown>,
  rules: ValidationRules,
  entity: string,
  source?: ReadonlyMap<string, string>,
  inPlace = false,
): { value: Record<string, unknown>; errors: FieldError[]; dropped: FieldError[] } {
  const schema = INTERNAL_SCHEMAS[entity];
  const errors: FieldError[] = [];
  const value: Record<string, unknown> = inPlace ? record : { ...record };
  let typeErrors: Set<string> | undefined;
  for (const field in record) {
    const declared = schema[field] as LeafField | undefined;
    const v = record[field];
    let error: FieldError | undefined;
    if (!declared) error = { field, rule: 'schema', reason: `${field} is not a field of ${entity}` };
    else if (declared.type === 'string' && v !== null && v !== undefined) {
      if (typeof v !== 'string')
        error = {
          field,
          rule: 'type',
          reason: `${label(field, source)} must be text, got ${Array.isArray(v) ? 'an array' : typeof v}`,
        };
      else if (v.includes('\u0000'))
        error = { field, rule: 'type', reason: `${label(field, source)} contains a NUL character` };
    }
    if (error) {
      errors.push(error);
      (typeErrors ??= new Set()).add(field);
    }
  }
  let list = compiledRules.get(rules);
  if (!list) compiledRules.set(rules, (list = Object.entries(rules)));
  for (const [field, rule] of list) {
    if (typeErrors?.has(field)) continue;
    let v = value[field];
    const missing = v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
    if (rule.required && missing) {
      errors.push({ field, rule: 'required', reason: `${label(field, source)} is required` });
      continue;
    }
    if (v === undefined || v === null) continue;
    if (rule.trim && typeof v === 'string') value[field] = v = v.trim();
    switch (rule.format) {
      case 'email':
        if (typeof v !== 'string' || !EMAIL_PATTERN.test(v)) {
          const reason =
            typeof v === 'string' && v.trim() !== v && EMAIL_PATTERN.test(v.trim())
              ? 'has leading or trailing whitespace'
              : 'is not a valid email address';
          errors.push({ field, rule: 'format', reason: `${label(field, source)} ${reason}` });
          continue;
        }
        break;
      case 'phone': {
        if (typeof v !== 'string' || v.trim() === '') break;
        const e164 = checkPhone(v, rule.defaultCountry);
        if (e164 === null) {
          errors.push({
            field,
            rule: 'format',
            reason: `${label(field, source)} is not a valid phone number${rule.defaultCountry ? ` (numbers without a country code are read as ${rule.defaultCountry})` : ''}`,
          });
          continue;
        }
        if (rule.normalize) value[field] = e164;
        break;
      }
      case 'timestamp': {
        const ms =
          v instanceof Date
            ? v.getTime()
            : typeof v === 'string' && TIMESTAMP_PATTERN.test(v)
              ? Date.parse(v.replace(' ', 'T'))
              : NaN;
        if (!Number.isFinite(ms)) {
          errors.push({
            field,
            rule: 'format',
            reason: `${label(field, source)} must be an ISO 8601 timestamp with a time zone`,
          });
          continue;
        }
        value[field] = new Date(ms).toISOString();
        break;
      }
      case undefined:
        break;
    }
    if (rule.max_length !== undefined && typeof v === 'string' && v.length > rule.max_length) {
      const length = charLength(v.trim());
      if (length > rule.max_length)
        errors.push({
          field,
          rule: 'max_length',
          reason: `${label(field, source)} is ${length} characters, more than ${rule.max_length}`,
        });
    }
  }
  if (errors.length === 0) return { value, errors, dropped: [] };
  // A quarantined record keeps every reason; a kept one loses the values whose rule says drop.
  if (errors.some((e) => e.rule === 'schema' || actionFor(rules, e.field) === 'quarantine'))
    return { value, errors, dropped: [] };
  const dropped = errors.filter((e) => actionFor(rules, e.field) === 'drop');
  for (const error of dropped) delete value[error.field];
  // `keep`: a field that failed was not normalized, so it still holds the value as received.
  return { value, errors: [], dropped };
}

/** Where each internal field of `mapping` comes from (for error messages naming the vendor field). */
export function sourceFields(mapping: Mapping): ReadonlyMap<string, string> {
  return new Map(
    mapping.direction === 'inbound'
      ? mapping.fields.map((f) => [f.to, f.from])
      : mapping.fields.map((f) => [f.from, f.from]),
  );
}

/**
 * Validates records for `mapping`. Inbound: vendor records are mapped first, and `valid` holds the
 * normalized internal records. Outbound: internal records are validated as they are.
 */
export function validateRecords(
  mapping: string | Mapping,
  records: readonly Record<string, unknown>[],
  rules: ValidationRules = VALIDATION_RULES,
): { valid: Record<string, unknown>[]; invalid: InvalidRecord[]; validIndexes: number[]; dropped: DroppedValue[] } {
  const m = typeof mapping === 'string' ? loadMappings().get(mapping) : mapping;
  const source = sourceFields(m);
  const valid: Record<string, unknown>[] = [];
  const validIndexes: number[] = [];
  const invalid: InvalidRecord[] = [];
  const dropped: DroppedValue[] = [];
  records.forEach((record, index) => {
    let internal: Record<string, unknown>;
    try {
      internal = m.direction === 'inbound' ? applyMapping(m, record) : record;
    } catch (error) {
      invalid.push({ index, record, errors: [{ field: '*', rule: 'mapping', reason: (error as Error).message }] });
      return;
    }
    const {
      value,
      errors,
      dropped: droppedHere,
    } = validateInternal(internal, rules, m.internalEntity, source, m.direction === 'inbound');
    if (errors.length) invalid.push({ index, record, errors });
    else {
      valid.push(value);
      validIndexes.push(index);
      for (const error of droppedHere) dropped.push({ index, ...error });
    }
  });
  return { valid, invalid, validIndexes, dropped };
}
