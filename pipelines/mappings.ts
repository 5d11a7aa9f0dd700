/**
 * Declarative field mappings (the design document's `data_mappings`), checked against the field
 * schemas of each side when loaded: a field that does not exist, or a dotted path through a field that
 * is not an object, is an error naming it.
 */

/** A leaf field's kind; `readonly` vendor fields (system timestamps, ids) are never written back. */
export type LeafType = 'string' | 'timestamp';
export interface LeafField {
  readonly type: LeafType;
  readonly readonly?: boolean;
}
export interface ObjectField {
  readonly type: 'object';
  readonly fields: FieldSchema;
}
export type FieldSchema = Readonly<Record<string, LeafField | ObjectField>>;

const str: LeafField = { type: 'string' };
const ro = (type: LeafType): LeafField => ({ type, readonly: true });

/** Fields of the internal entities; `Contact` and `User` are both rows of the `contacts` table. */
const INTERNAL_CONTACT: FieldSchema = {
  email: str,
  first_name: str,
  last_name: str,
  phone_number: str,
  company_name: str,
  created_at: { type: 'timestamp' },
  updated_at: { type: 'timestamp' },
};
export const INTERNAL_SCHEMAS: Readonly<Record<string, FieldSchema>> = { Contact: INTERNAL_CONTACT, User: INTERNAL_CONTACT };

/** The vendor objects the mappings read or write, as their APIs return them (the fields used here). */
export const VENDOR_SCHEMAS: Readonly<Record<string, Readonly<Record<string, FieldSchema>>>> = {
  salesforce: {
    Contact: {
      Id: ro('string'),
      FirstName: str,
      LastName: str,
      Email: str,
      Phone: str,
      MobilePhone: str,
      Account: { type: 'object', fields: { Id: ro('string'), Name: str } },
      CreatedDate: ro('timestamp'),
      LastModifiedDate: ro('timestamp'),
    },
  },
  hubspot: {
    contacts: {
      id: ro('string'),
      properties: {
        type: 'object',
        fields: { firstname: str, lastname: str, email: str, phone: str, company: str, createdate: ro('timestamp'), lastmodifieddate: ro('timestamp') },
      },
    },
  },
  mailchimp: {
    member: { id: ro('string'), email_address: str, FNAME: str, LNAME: str, signup_date: { type: 'timestamp' }, status: str },
  },
};

/**
 * How an inbound record settles a conflict with the stored row for the same email:
 * `latest_wins` keeps whichever has the later `updated_at`; `source_of_truth` lets `source`'s records
 * win over every other integration's (and over its own only when newer), and lets the others update
 * only rows the source of truth has not written.
 */
export type ConflictPolicy = { readonly kind: 'latest_wins' } | { readonly kind: 'source_of_truth'; readonly source: string };

export interface MappingSpec {
  /** Vendor object on the vendor side (for inbound mappings, the object in the mapping's name). */
  readonly vendorObject?: string;
  /** Source field path -> target field path. */
  readonly fields: Readonly<Record<string, string>>;
  readonly conflict?: ConflictPolicy;
}

/**
 * The design document's mappings. Additions, each needed by the pipeline: Salesforce's system
 * timestamps (the SQL orders by `updated_at`), a HubSpot contact mapping (a second CRM source for the
 * conflict policy), and each mapping's conflict policy.
 */
export const MAPPING_SPECS: Readonly<Record<string, Readonly<Record<string, MappingSpec>>>> = {
  salesforce_to_internal: {
    Contact: {
      fields: {
        FirstName: 'first_name',
        LastName: 'last_name',
        Email: 'email',
        Phone: 'phone_number',
        'Account.Name': 'company_name',
        CreatedDate: 'created_at',
        LastModifiedDate: 'updated_at',
      },
      conflict: { kind: 'source_of_truth', source: 'salesforce' },
    },
  },
  hubspot_to_internal: {
    contacts: {
      fields: {
        'properties.firstname': 'first_name',
        'properties.lastname': 'last_name',
        'properties.email': 'email',
        'properties.phone': 'phone_number',
        'properties.company': 'company_name',
        'properties.createdate': 'created_at',
        'properties.lastmodifieddate': 'updated_at',
      },
      conflict: { kind: 'source_of_truth', source: 'salesforce' },
    },
  },
  internal_to_mailchimp: {
    User: {
      vendorObject: 'member',
      fields: { first_name: 'FNAME', last_name: 'LNAME', email: 'email_address', created_at: 'signup_date' },
    },
  },
};

export interface FieldMap {
  readonly from: string;
  readonly to: string;
}

export interface Mapping {
  /** `<from>_to_<to>.<Object>`, e.g. `salesforce_to_internal.Contact`. */
  readonly name: string;
  readonly direction: 'inbound' | 'outbound';
  /** The vendor system on the other side of `internal`. */
  readonly system: string;
  readonly vendorObject: string;
  readonly internalEntity: string;
  readonly fields: readonly FieldMap[];
  readonly conflict: ConflictPolicy;
  /** Every source and target is used once, so the mapping can run backwards. */
  readonly reversible: boolean;
}

export interface MappingSet {
  readonly mappings: ReadonlyMap<string, Mapping>;
  get(name: string): Mapping;
}

export class MappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingError';
  }
}

type Resolved = LeafField | ObjectField;

/** Resolves a dotted path in a schema, or throws naming the first segment that cannot exist. */
export function resolvePath(schema: FieldSchema, path: string, where: string): Resolved {
  const segments = path.split('.');
  let fields: FieldSchema = schema;
  let field: Resolved | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const prefix = segments.slice(0, i).join('.');
    if (!segment) throw new MappingError(`${where}: empty segment in field path "${path}"`);
    field = Object.prototype.hasOwnProperty.call(fields, segment) ? fields[segment] : undefined;
    if (!field) throw new MappingError(`${where}: unknown field "${prefix ? `${prefix}.` : ''}${segment}" in path "${path}"`);
    if (i < segments.length - 1) {
      if (field.type !== 'object') throw new MappingError(`${where}: "${segments.slice(0, i + 1).join('.')}" is a ${field.type}, so path "${path}" cannot exist`);
      fields = field.fields;
    }
  }
  return field as Resolved;
}

function vendorSchema(system: string, object: string, where: string): FieldSchema {
  const objects = VENDOR_SCHEMAS[system];
  if (!objects) throw new MappingError(`${where}: unknown system "${system}" (known: ${Object.keys(VENDOR_SCHEMAS).join(', ')})`);
  const schema = objects[object];
  if (!schema) throw new MappingError(`${where}: unknown ${system} object "${object}" (known: ${Object.keys(objects).join(', ')})`);
  return schema;
}

function internalSchema(entity: string, where: string): FieldSchema {
  const schema = INTERNAL_SCHEMAS[entity];
  if (!schema) throw new MappingError(`${where}: unknown internal entity "${entity}" (known: ${Object.keys(INTERNAL_SCHEMAS).join(', ')})`);
  return schema;
}

/** Builds and checks one mapping from its spec. */
export function compileMapping(setName: string, object: string, spec: MappingSpec): Mapping {
  const name = `${setName}.${object}`;
  const match = /^([a-z0-9]+)_to_([a-z0-9]+)$/.exec(setName);
  if (!match || (match[1] === 'internal') === (match[2] === 'internal')) {
    throw new MappingError(`${name}: a mapping set is named <system>_to_internal or internal_to_<system>`);
  }
  const direction = match[2] === 'internal' ? 'inbound' : 'outbound';
  const system = direction === 'inbound' ? match[1] : match[2];
  const vendorObject = spec.vendorObject ?? object;
  const internalEntity = direction === 'inbound' ? 'Contact' : object;
  const vendor = vendorSchema(system, vendorObject, name);
  const internal = internalSchema(internalEntity, name);
  const [source, target] = direction === 'inbound' ? [vendor, internal] : [internal, vendor];
  const fields = Object.entries(spec.fields).map(([from, to]) => {
    const s = resolvePath(source, from, `${name} source`);
    const t = resolvePath(target, to, `${name} target`);
    if (s.type === 'object' || t.type === 'object') throw new MappingError(`${name}: "${s.type === 'object' ? from : to}" is an object; map its fields instead`);
    if (s.type !== t.type) throw new MappingError(`${name}: "${from}" is a ${s.type} but "${to}" is a ${t.type}`);
    return { from, to };
  });
  if (fields.length === 0) throw new MappingError(`${name}: maps no fields`);
  const targets = new Set<string>();
  for (const { to } of fields) {
    if (targets.has(to)) throw new MappingError(`${name}: target "${to}" is mapped more than once`);
    for (const other of targets) {
      if (other.startsWith(`${to}.`) || to.startsWith(`${other}.`)) throw new MappingError(`${name}: targets "${other}" and "${to}" overlap`);
    }
    targets.add(to);
  }
  if (direction === 'inbound') {
    for (const needed of ['email', 'updated_at']) {
      if (!targets.has(needed)) throw new MappingError(`${name}: an inbound mapping must map internal field "${needed}" (contacts are keyed by email and ordered by updated_at)`);
    }
  }
  const conflict = spec.conflict ?? { kind: 'latest_wins' };
  if (conflict.kind === 'source_of_truth' && !VENDOR_SCHEMAS[conflict.source]) {
    throw new MappingError(`${name}: conflict source of truth "${conflict.source}" is not a known system`);
  }
  return { name, direction, system, vendorObject, internalEntity, fields, conflict, reversible: new Set(fields.map((f) => f.from)).size === fields.length };
}

function buildSet(specs: typeof MAPPING_SPECS): MappingSet {
  const mappings = new Map<string, Mapping>();
  for (const [setName, objects] of Object.entries(specs)) {
    for (const [object, spec] of Object.entries(objects)) {
      const mapping = compileMapping(setName, object, spec);
      mappings.set(mapping.name, mapping);
    }
  }
  return {
    mappings,
    get(name) {
      const mapping = mappings.get(name);
      if (!mapping) throw new MappingError(`unknown mapping "${name}" (known: ${[...mappings.keys()].join(', ')})`);
      return mapping;
    },
  };
}

let loaded: MappingSet | undefined;

/** The design document's mappings, compiled and checked once (a bad mapping fails at startup). */
export function loadMappings(specs?: typeof MAPPING_SPECS): MappingSet {
  if (specs) return buildSet(specs);
  loaded ??= buildSet(MAPPING_SPECS);
  return loaded;
}

/**
 * The mapping run backwards: target fields become sources. Vendor fields the vendor sets itself
 * (ids, system timestamps) are left out of an inbound mapping's reverse, since they cannot be written.
 */
export function reverseMapping(mapping: Mapping): Mapping {
  if (!mapping.reversible) throw new MappingError(`${mapping.name}: not 1:1, so it cannot run in reverse`);
  const [from, to] = mapping.name.split('.')[0].split('_to_');
  const vendor = vendorSchema(mapping.system, mapping.vendorObject, mapping.name);
  const fields = mapping.fields
    .filter((f) => mapping.direction === 'outbound' || !(resolvePath(vendor, f.from, mapping.name) as LeafField).readonly)
    .map((f) => ({ from: f.to, to: f.from }));
  return {
    ...mapping,
    name: `${to}_to_${from}.${mapping.name.split('.')[1]}`,
    direction: mapping.direction === 'inbound' ? 'outbound' : 'inbound',
    fields,
    reversible: true,
  };
}

/** Reads a dotted path; a missing or null step gives undefined, a non-object step throws naming it. */
export function getPath(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  let walked = '';
  for (const segment of path.split('.')) {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw new MappingError(`"${walked}" is ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an object, so "${path}" cannot be read`);
    value = (value as Record<string, unknown>)[segment];
    walked = walked ? `${walked}.${segment}` : segment;
  }
  return value;
}

function setPath(record: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let target = record;
  for (const segment of segments.slice(0, -1)) {
    const next = target[segment];
    if (next === undefined) target = target[segment] = {};
    else target = next as Record<string, unknown>;
  }
  target[segments[segments.length - 1]] = value;
}

const compiledPaths = new WeakMap<Mapping, { from: string; to: string[] }[]>();

/** Maps one record; fields absent from the source are absent from the result. */
export function applyMapping(mapping: Mapping, record: Record<string, unknown>): Record<string, unknown> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new MappingError(`${mapping.name}: a record must be an object`);
  let paths = compiledPaths.get(mapping);
  if (!paths) compiledPaths.set(mapping, (paths = mapping.fields.map((f) => ({ from: f.from, to: f.to.split('.') }))));
  const out: Record<string, unknown> = {};
  for (const { from, to } of paths) {
    const value = from.includes('.') ? getPath(record, from) : record[from];
    if (value === undefined) continue;
    if (to.length === 1) out[to[0]] = value;
    else setPath(out, to.join('.'), value);
  }
  return out;
}

/** Maps records with `mapping` (a name or a compiled mapping); a record that cannot be read throws naming its index and field. */
export function transformRecords(mapping: string | Mapping, records: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const m = typeof mapping === 'string' ? loadMappings().get(mapping) : mapping;
  return records.map((record, index) => {
    try {
      return applyMapping(m, record);
    } catch (error) {
      throw new MappingError(`record ${index}: ${(error as Error).message}`);
    }
  });
}

/** Runs a 1:1 mapping backwards (internal rows back to the vendor's shape, for bi-directional sync). */
export function reverseRecords(mapping: string, records: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return transformRecords(reverseMapping(loadMappings().get(mapping)), records);
}
