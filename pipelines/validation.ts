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
 * Phone checks, remembered: re-syncs see the same numbers again and again, and libphonenumber's
 * validation builds regular expressions on every call. A number made of digits and punctuation only
 * is remembered by its digits, so the same number written another way is not parsed again; letters
 * and extensions take the full path. At most `max` numbers are held; the memo is cleared when full.
 */
export function phoneChecker(max: number): {
  check(value: string, country: CountryCode | undefined): string | null;
  readonly size: number;
} {
  const byDigits = new Map<string, string | null>();
  return {
    check(value, country) {
      if (!PLAIN_PHONE.test(value)) return checkPhoneUncached(value, country);
      const key = `${country ?? ''}:${value.replace(/[^0-9+]/g, '')}`;
      const hit = byDigits.get(key);
      if (hit !== undefined) return hit;
      const result = checkPhoneUncached(value, country);
      if (byDigits.size >= max) byDigits.clear();
      byDigits.set(key, result);
      return result;
    },
    get size() {
      return byDigits.size;
    },
  };
}

const PLAIN_PHONE = /^[0-9+\s().\-/]+$/;

/** The E.164 form of a valid phone number, else null. */
export function checkPhoneUncached(value: string, country: CountryCode | undefined): string | null {
  const parsed = parsePhoneNumberFromString(value, country);
  return parsed && parsed.isValid() ? parsed.number : null;
}

const phones = phoneChecker(200_000);

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const isoDates = new Map<number, string>();

/**
 * `new Date(ms).toISOString()` for whole milliseconds, its cost mostly gone: every record has two
 * timestamps, and records of one sync share few days, so the date part is remembered per day
 * (at most 10,000, cleared when full) and the time of day is formatted here.
 */
export function isoTimestamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let date = isoDates.get(day);
  if (date === undefined) {
    if (isoDates.size >= 10_000) isoDates.clear();
    const full = new Date(day * DAY_MS).toISOString();
    date = full.slice(0, full.indexOf('T') + 1);
    isoDates.set(day, date);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  rest -= seconds * 1000;
  return `${date}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}${rest < 10 ? '.00' : rest < 100 ? '.0' : '.'}${rest}Z`;
}

/** `value.trim() === ''`, without trimming when the first character already decides it (most values). */
function isBlank(value: string): boolean {
  if (value.length === 0) return true;
  const first = value.charCodeAt(0);
  // Neither a whitespace nor a line terminator (all of those are below 33 or from U+00A0 on).
  if (first > 32 && first < 0xa0) return false;
  return value.trim() === '';
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
    const missing = v === undefined || v === null || (typeof v === 'string' && isBlank(v));
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
        const e164 = phones.check(v, rule.defaultCountry);
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
              ? // The pattern allows a space only between the date and the time, at index 10.
                Date.parse(v.charCodeAt(10) === 32 ? `${v.slice(0, 10)}T${v.slice(11)}` : v)
              : NaN;
        if (!Number.isFinite(ms)) {
          errors.push({
            field,
            rule: 'format',
            reason: `${label(field, source)} must be an ISO 8601 timestamp with a time zone`,
          });
          continue;
        }
        value[field] = isoTimestamp(ms);
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
