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
export const INTERNAL_SCHEMAS: Readonly<Record<string, FieldSchema>> = {
  Contact: INTERNAL_CONTACT,
  User: INTERNAL_CONTACT,
};

/** An object field (or, with numeric segments such as `emails.0.value`, a list's items by position). */
const obj = (fields: FieldSchema): ObjectField => ({ type: 'object', fields });
/** A list whose first item is read or written (`emails.0.value`): vendors list the primary entry first. */
const firstOf = (fields: FieldSchema): ObjectField => obj({ '0': obj(fields) });

/** The vendor objects the mappings read or write, as their APIs return them (the fields used here). */
export const VENDOR_SCHEMAS: Readonly<Record<string, Readonly<Record<string, FieldSchema>>>> = {
  // The internal User Service's users, as POST /api/internal/users takes them.
  user_service: {
    users: {
      id: ro('string'),
      email: str,
      firstName: str,
      lastName: str,
      phone: str,
      company: str,
      createdAt: ro('timestamp'),
      updatedAt: ro('timestamp'),
    },
  },
  salesforce: {
    Contact: {
      Id: ro('string'),
      FirstName: str,
      LastName: str,
      Email: str,
      Phone: str,
      MobilePhone: str,
      External_Id__c: str,
      Account: obj({ Id: ro('string'), Name: str }),
      CreatedDate: ro('timestamp'),
      LastModifiedDate: ro('timestamp'),
    },
    Lead: {
      Id: ro('string'),
      FirstName: str,
      LastName: str,
      Email: str,
      Phone: str,
      Company: str,
      External_Id__c: str,
      CreatedDate: ro('timestamp'),
      LastModifiedDate: ro('timestamp'),
    },
  },
  hubspot: {
    contacts: {
      id: ro('string'),
      properties: obj({
        firstname: str,
        lastname: str,
        email: str,
        phone: str,
        company: str,
        createdate: ro('timestamp'),
        lastmodifieddate: ro('timestamp'),
      }),
    },
  },
  // API v2 persons: emails and phones are lists of { value, primary, label }, timestamps RFC 3339.
  pipedrive: {
    persons: {
      id: ro('string'),
      name: str,
      first_name: str,
      last_name: str,
      emails: firstOf({ value: str }),
      phones: firstOf({ value: str }),
      add_time: ro('timestamp'),
      update_time: ro('timestamp'),
    },
  },
  // Lookup fields (Account_Name) are { name, id } objects.
  zoho: {
    Contacts: {
      id: ro('string'),
      First_Name: str,
      Last_Name: str,
      Email: str,
      Phone: str,
      Account_Name: obj({ id: ro('string'), name: str }),
      Created_Time: ro('timestamp'),
      Modified_Time: ro('timestamp'),
    },
    Leads: {
      id: ro('string'),
      First_Name: str,
      Last_Name: str,
      Email: str,
      Phone: str,
      Company: str,
      Created_Time: ro('timestamp'),
      Modified_Time: ro('timestamp'),
    },
  },
  // Business partners of category 1 with their first address's email and phone (OData V2 `results` lists);
  // the connector joins SAP's separate date and time fields into the two ISO timestamps.
  sap: {
    persons: {
      BusinessPartner: ro('string'),
      FirstName: str,
      LastName: str,
      to_BusinessPartnerAddress: obj({
        results: firstOf({
          to_EmailAddress: obj({ results: firstOf({ EmailAddress: str }) }),
          to_PhoneNumber: obj({ results: firstOf({ PhoneNumber: str }) }),
        }),
      }),
      CreationDateTime: ro('timestamp'),
      LastChangeDateTime: ro('timestamp'),
    },
  },
  // SuiteQL rows (lower-case columns, timestamps as ISO text); writes go to the camelCase record API.
  netsuite: {
    customer: {
      id: ro('string'),
      firstname: str,
      lastname: str,
      email: str,
      phone: str,
      companyname: str,
      datecreated: ro('timestamp'),
      lastmodifieddate: ro('timestamp'),
    },
    customer_write: { firstName: str, lastName: str, email: str, phone: str, companyName: str },
  },
  // Dataverse contact columns (logical names).
  dynamics: {
    contacts: {
      contactid: ro('string'),
      firstname: str,
      lastname: str,
      emailaddress1: str,
      telephone1: str,
      createdon: ro('timestamp'),
      modifiedon: ro('timestamp'),
    },
  },
  mailchimp: {
    member: {
      id: ro('string'),
      email_address: str,
      merge_fields: obj({ FNAME: str, LNAME: str, PHONE: str }),
      timestamp_signup: { type: 'timestamp' },
      last_changed: ro('timestamp'),
      status: str,
    },
  },
  // JSON:API profile resources.
  klaviyo: {
    profiles: {
      id: ro('string'),
      attributes: obj({
        email: str,
        first_name: str,
        last_name: str,
        phone_number: str,
        organization: str,
        created: ro('timestamp'),
        updated: ro('timestamp'),
      }),
    },
  },
  // v3 contacts: the address is an object on reads; writes take it as a string.
  constant_contact: {
    contacts: {
      contact_id: ro('string'),
      email_address: obj({ address: str }),
      first_name: str,
      last_name: str,
      company_name: str,
      created_at: ro('timestamp'),
      updated_at: ro('timestamp'),
    },
    contact_write: { email_address: str, first_name: str, last_name: str, company_name: str },
  },
  // Lead Ads leads with their answers flattened by name (integrations/social/meta), and hashed audience members.
  ...Object.fromEntries(
    ['facebook', 'instagram'].map((system) => [
      system,
      {
        leads: {
          id: ro('string'),
          created_time: ro('timestamp'),
          answers: obj({ email: str, first_name: str, last_name: str, phone_number: str, company_name: str }),
        },
        custom_audience: { email: str, first_name: str, last_name: str, phone_number: str },
      },
    ]),
  ),
  // Hashed by the connector before it leaves (integrations/social/meta/audience.ts).
  x: { custom_audience: { email: str, first_name: str, last_name: str, phone_number: str } },
  // Lead form responses with answers named by the form's predefined fields (integrations/social/linkedin).
  linkedin: {
    leads: {
      id: ro('string'),
      submittedAtTime: ro('timestamp'),
      answers: obj({ email: str, first_name: str, last_name: str, phone_number: str, company_name: str }),
    },
    custom_audience: { email: str, first_name: str, last_name: str, phone_number: str },
  },
};

/**
 * How an inbound record settles a conflict with the stored row for the same email:
 * `latest_wins` keeps whichever has the later `updated_at`; `source_of_truth` lets `source`'s records
 * win over every other integration's (and over its own only when newer), and lets the others update
 * only rows the source of truth has not written.
 */
export type ConflictPolicy =
  { readonly kind: 'latest_wins' } | { readonly kind: 'source_of_truth'; readonly source: string };

export interface MappingSpec {
  /** Vendor object on the vendor side (for inbound mappings, the object in the mapping's name). */
  readonly vendorObject?: string;
  /** Source field path -> target field path. */
  readonly fields: Readonly<Record<string, string>>;
  /** Target field path -> source paths whose present values are joined with a space (a vendor's required full name). */
  readonly joins?: Readonly<Record<string, readonly string[]>>;
  readonly conflict?: ConflictPolicy;
}

/** Salesforce is the CRM of record in the design document; every other source only fills what it has not written. */
const SALESFORCE_WINS: ConflictPolicy = { kind: 'source_of_truth', source: 'salesforce' };

const SAP_EMAIL = 'to_BusinessPartnerAddress.results.0.to_EmailAddress.results.0.EmailAddress';
const SAP_PHONE = 'to_BusinessPartnerAddress.results.0.to_PhoneNumber.results.0.PhoneNumber';

const salesforcePerson = (company: string) => ({
  fields: {
    FirstName: 'first_name',
    LastName: 'last_name',
    Email: 'email',
    Phone: 'phone_number',
    [company]: 'company_name',
    CreatedDate: 'created_at',
    LastModifiedDate: 'updated_at',
  },
  conflict: SALESFORCE_WINS,
});
const zohoPerson = (company: string) => ({
  fields: {
    First_Name: 'first_name',
    Last_Name: 'last_name',
    Email: 'email',
    Phone: 'phone_number',
    [company]: 'company_name',
    Created_Time: 'created_at',
    Modified_Time: 'updated_at',
  },
  conflict: SALESFORCE_WINS,
});

/**
 * The design document's mappings (Salesforce Contact in, User out to Mailchimp), and one for the
 * person object of every other connector, both ways. Additions to the document's: system timestamps
 * (the SQL orders by `updated_at`) and each mapping's conflict policy.
 */
export const MAPPING_SPECS: Readonly<Record<string, Readonly<Record<string, MappingSpec>>>> = {
  user_service_to_internal: {
    users: {
      fields: {
        email: 'email',
        firstName: 'first_name',
        lastName: 'last_name',
        phone: 'phone_number',
        company: 'company_name',
        createdAt: 'created_at',
        updatedAt: 'updated_at',
      },
    },
  },
  salesforce_to_internal: { Contact: salesforcePerson('Account.Name'), Lead: salesforcePerson('Company') },
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
      conflict: SALESFORCE_WINS,
    },
  },
  pipedrive_to_internal: {
    persons: {
      fields: {
        first_name: 'first_name',
        last_name: 'last_name',
        'emails.0.value': 'email',
        'phones.0.value': 'phone_number',
        add_time: 'created_at',
        update_time: 'updated_at',
      },
      conflict: SALESFORCE_WINS,
    },
  },
  zoho_to_internal: { Contacts: zohoPerson('Account_Name.name'), Leads: zohoPerson('Company') },
  mailchimp_to_internal: {
    member: {
      fields: {
        email_address: 'email',
        'merge_fields.FNAME': 'first_name',
        'merge_fields.LNAME': 'last_name',
        'merge_fields.PHONE': 'phone_number',
        timestamp_signup: 'created_at',
        last_changed: 'updated_at',
      },
    },
  },
  klaviyo_to_internal: {
    profiles: {
      fields: {
        'attributes.email': 'email',
        'attributes.first_name': 'first_name',
        'attributes.last_name': 'last_name',
        'attributes.phone_number': 'phone_number',
        'attributes.organization': 'company_name',
        'attributes.created': 'created_at',
        'attributes.updated': 'updated_at',
      },
    },
  },
  constant_contact_to_internal: {
    contacts: {
      fields: {
        'email_address.address': 'email',
        first_name: 'first_name',
        last_name: 'last_name',
        company_name: 'company_name',
        created_at: 'created_at',
        updated_at: 'updated_at',
      },
    },
  },
  sap_to_internal: {
    persons: {
      fields: {
        FirstName: 'first_name',
        LastName: 'last_name',
        [SAP_EMAIL]: 'email',
        [SAP_PHONE]: 'phone_number',
        CreationDateTime: 'created_at',
        LastChangeDateTime: 'updated_at',
      },
      conflict: SALESFORCE_WINS,
    },
  },
  netsuite_to_internal: {
    customer: {
      fields: {
        firstname: 'first_name',
        lastname: 'last_name',
        email: 'email',
        phone: 'phone_number',
        companyname: 'company_name',
        datecreated: 'created_at',
        lastmodifieddate: 'updated_at',
      },
      conflict: SALESFORCE_WINS,
    },
  },
  dynamics_to_internal: {
    contacts: {
      fields: {
        firstname: 'first_name',
        lastname: 'last_name',
        emailaddress1: 'email',
        telephone1: 'phone_number',
        createdon: 'created_at',
        modifiedon: 'updated_at',
      },
      conflict: SALESFORCE_WINS,
    },
  },
  // A lead never changes after submission: its creation time is also its last update.
  ...Object.fromEntries(
    ['facebook', 'instagram'].map((system) => [
      `${system}_to_internal`,
      {
        leads: {
          fields: {
            'answers.email': 'email',
            'answers.first_name': 'first_name',
            'answers.last_name': 'last_name',
            'answers.phone_number': 'phone_number',
            'answers.company_name': 'company_name',
            created_time: 'updated_at',
          },
          conflict: SALESFORCE_WINS,
        },
      },
    ]),
  ),
  linkedin_to_internal: {
    leads: {
      fields: {
        'answers.email': 'email',
        'answers.first_name': 'first_name',
        'answers.last_name': 'last_name',
        'answers.phone_number': 'phone_number',
        'answers.company_name': 'company_name',
        submittedAtTime: 'updated_at',
      },
      conflict: SALESFORCE_WINS,
    },
  },
  // The connectors normalize and hash these before they leave (integrations/social/meta/audience.ts).
  ...Object.fromEntries(
    ['facebook', 'instagram', 'x', 'linkedin'].map((system) => [
      `internal_to_${system}`,
      {
        custom_audience: {
          fields: { email: 'email', first_name: 'first_name', last_name: 'last_name', phone_number: 'phone_number' },
        },
      },
    ]),
  ),
  internal_to_mailchimp: {
    User: {
      vendorObject: 'member',
      fields: {
        email: 'email_address',
        first_name: 'merge_fields.FNAME',
        last_name: 'merge_fields.LNAME',
        phone_number: 'merge_fields.PHONE',
        created_at: 'timestamp_signup',
      },
    },
  },
  // Upserted by the External_Id__c external id field (the connector's default), which holds the email.
  internal_to_salesforce: {
    Contact: {
      fields: { first_name: 'FirstName', last_name: 'LastName', email: 'Email', phone_number: 'Phone' },
      joins: { External_Id__c: ['email'] },
    },
    Lead: {
      fields: {
        first_name: 'FirstName',
        last_name: 'LastName',
        email: 'Email',
        phone_number: 'Phone',
        company_name: 'Company',
      },
      joins: { External_Id__c: ['email'] },
    },
  },
  internal_to_hubspot: {
    contacts: {
      fields: {
        first_name: 'properties.firstname',
        last_name: 'properties.lastname',
        email: 'properties.email',
        phone_number: 'properties.phone',
        company_name: 'properties.company',
      },
    },
  },
  // Pipedrive requires a person's full name.
  internal_to_pipedrive: {
    persons: {
      fields: {
        first_name: 'first_name',
        last_name: 'last_name',
        email: 'emails.0.value',
        phone_number: 'phones.0.value',
      },
      joins: { name: ['first_name', 'last_name'] },
    },
  },
  internal_to_zoho: {
    Contacts: { fields: { first_name: 'First_Name', last_name: 'Last_Name', email: 'Email', phone_number: 'Phone' } },
    Leads: {
      fields: {
        first_name: 'First_Name',
        last_name: 'Last_Name',
        email: 'Email',
        phone_number: 'Phone',
        company_name: 'Company',
      },
    },
  },
  // A new business partner is one deep insert of the partner, its address and email (the connector adds the country).
  internal_to_sap: {
    persons: { fields: { first_name: 'FirstName', last_name: 'LastName', email: SAP_EMAIL, phone_number: SAP_PHONE } },
  },
  // Upserted by external id, which the connector takes from the email.
  internal_to_netsuite: {
    customer: {
      vendorObject: 'customer_write',
      fields: {
        first_name: 'firstName',
        last_name: 'lastName',
        email: 'email',
        phone_number: 'phone',
        company_name: 'companyName',
      },
    },
  },
  // Upserted by the emailaddress1 alternate key.
  internal_to_dynamics: {
    contacts: {
      fields: { first_name: 'firstname', last_name: 'lastname', email: 'emailaddress1', phone_number: 'telephone1' },
    },
  },
  internal_to_klaviyo: {
    profiles: {
      fields: {
        email: 'attributes.email',
        first_name: 'attributes.first_name',
        last_name: 'attributes.last_name',
        phone_number: 'attributes.phone_number',
        company_name: 'attributes.organization',
      },
    },
  },
  internal_to_constant_contact: {
    contacts: {
      vendorObject: 'contact_write',
      fields: {
        email: 'email_address',
        first_name: 'first_name',
        last_name: 'last_name',
        company_name: 'company_name',
      },
    },
  },
};

/**
 * Which mapping carries each synced object: inbound per (system, object), outbound per (system,
 * object); `*` stands for every object of a system whose objects are lists of one record type
 * (Mailchimp audiences). An object with no inbound mapping is kept in the raw replica only.
 */
export const OBJECT_MAPPINGS: Readonly<
  Record<
    string,
    { readonly inbound: Readonly<Record<string, string>>; readonly outbound: Readonly<Record<string, string>> }
  >
> = {
  salesforce: {
    inbound: { Contact: 'salesforce_to_internal.Contact', Lead: 'salesforce_to_internal.Lead' },
    outbound: { Contact: 'internal_to_salesforce.Contact', Lead: 'internal_to_salesforce.Lead' },
  },
  hubspot: {
    inbound: { contacts: 'hubspot_to_internal.contacts' },
    outbound: { contacts: 'internal_to_hubspot.contacts' },
  },
  pipedrive: {
    inbound: { persons: 'pipedrive_to_internal.persons' },
    outbound: { persons: 'internal_to_pipedrive.persons' },
  },
  zoho: {
    inbound: { Contacts: 'zoho_to_internal.Contacts', Leads: 'zoho_to_internal.Leads' },
    outbound: { Contacts: 'internal_to_zoho.Contacts', Leads: 'internal_to_zoho.Leads' },
  },
  sap: { inbound: { persons: 'sap_to_internal.persons' }, outbound: { persons: 'internal_to_sap.persons' } },
  netsuite: {
    inbound: { customer: 'netsuite_to_internal.customer' },
    outbound: { customer: 'internal_to_netsuite.customer' },
  },
  dynamics: {
    inbound: { contacts: 'dynamics_to_internal.contacts' },
    outbound: { contacts: 'internal_to_dynamics.contacts' },
  },
  mailchimp: { inbound: { '*': 'mailchimp_to_internal.member' }, outbound: { '*': 'internal_to_mailchimp.User' } },
  klaviyo: {
    inbound: { profiles: 'klaviyo_to_internal.profiles' },
    outbound: { profiles: 'internal_to_klaviyo.profiles' },
  },
  constant_contact: {
    inbound: { contacts: 'constant_contact_to_internal.contacts' },
    outbound: { contacts: 'internal_to_constant_contact.contacts' },
  },
  facebook: {
    inbound: { leads: 'facebook_to_internal.leads' },
    outbound: { custom_audience: 'internal_to_facebook.custom_audience' },
  },
  instagram: {
    inbound: { leads: 'instagram_to_internal.leads' },
    outbound: { custom_audience: 'internal_to_instagram.custom_audience' },
  },
  // Mentions carry no contact: they become events (pipelines/analytics-mappings.ts).
  x: { inbound: {}, outbound: { custom_audience: 'internal_to_x.custom_audience' } },
  linkedin: {
    inbound: { leads: 'linkedin_to_internal.leads' },
    outbound: { custom_audience: 'internal_to_linkedin.custom_audience' },
  },
};

/** The mapping that carries `object` of `system` in `direction`, or undefined (replica only / not pushed). */
export function mappingFor(system: string, object: string, direction: 'inbound' | 'outbound'): Mapping | undefined {
  const names = OBJECT_MAPPINGS[system]?.[direction];
  const name = names?.[object] ?? names?.['*'];
  return name === undefined ? undefined : loadMappings().get(name);
}

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
  /** Targets built by joining several sources with a space. */
  readonly joins: readonly { readonly to: string; readonly from: readonly string[] }[];
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
    if (!field)
      throw new MappingError(`${where}: unknown field "${prefix ? `${prefix}.` : ''}${segment}" in path "${path}"`);
    if (i < segments.length - 1) {
      if (field.type !== 'object')
        throw new MappingError(
          `${where}: "${segments.slice(0, i + 1).join('.')}" is a ${field.type}, so path "${path}" cannot exist`,
        );
      fields = field.fields;
    }
  }
  return field as Resolved;
}

function vendorSchema(system: string, object: string, where: string): FieldSchema {
  const objects = VENDOR_SCHEMAS[system];
  if (!objects)
    throw new MappingError(`${where}: unknown system "${system}" (known: ${Object.keys(VENDOR_SCHEMAS).join(', ')})`);
  const schema = objects[object];
  if (!schema)
    throw new MappingError(
      `${where}: unknown ${system} object "${object}" (known: ${Object.keys(objects).join(', ')})`,
    );
  return schema;
}

function internalSchema(entity: string, where: string): FieldSchema {
  const schema = INTERNAL_SCHEMAS[entity];
  if (!schema)
    throw new MappingError(
      `${where}: unknown internal entity "${entity}" (known: ${Object.keys(INTERNAL_SCHEMAS).join(', ')})`,
    );
  return schema;
}

/** Builds and checks one mapping from its spec. */
export function compileMapping(setName: string, object: string, spec: MappingSpec): Mapping {
  const name = `${setName}.${object}`;
  const inbound = /^([a-z0-9_]+)_to_internal$/.exec(setName);
  const outbound = /^internal_to_([a-z0-9_]+)$/.exec(setName);
  if (!inbound === !outbound || (inbound ?? outbound)![1].includes('_to_')) {
    throw new MappingError(`${name}: a mapping set is named <system>_to_internal or internal_to_<system>`);
  }
  const direction = inbound ? 'inbound' : 'outbound';
  const system = (inbound ?? outbound)![1];
  const vendorObject = spec.vendorObject ?? object;
  // An outbound mapping named after a vendor object (`internal_to_hubspot.contacts`) reads contacts.
  const internalEntity = direction === 'outbound' && INTERNAL_SCHEMAS[object] ? object : 'Contact';
  const vendor = vendorSchema(system, vendorObject, name);
  const internal = internalSchema(internalEntity, name);
  const [source, target] = direction === 'inbound' ? [vendor, internal] : [internal, vendor];
  const fields = Object.entries(spec.fields).map(([from, to]) => {
    const s = resolvePath(source, from, `${name} source`);
    const t = resolvePath(target, to, `${name} target`);
    if (s.type === 'object' || t.type === 'object')
      throw new MappingError(`${name}: "${s.type === 'object' ? from : to}" is an object; map its fields instead`);
    if (s.type !== t.type) throw new MappingError(`${name}: "${from}" is a ${s.type} but "${to}" is a ${t.type}`);
    return { from, to };
  });
  if (fields.length === 0) throw new MappingError(`${name}: maps no fields`);
  const targets = new Set<string>();
  for (const { to } of fields) {
    if (targets.has(to)) throw new MappingError(`${name}: target "${to}" is mapped more than once`);
    for (const other of targets) {
      if (other.startsWith(`${to}.`) || to.startsWith(`${other}.`))
        throw new MappingError(`${name}: targets "${other}" and "${to}" overlap`);
    }
    targets.add(to);
  }
  if (direction === 'inbound') {
    for (const needed of ['email', 'updated_at']) {
      if (!targets.has(needed))
        throw new MappingError(
          `${name}: an inbound mapping must map internal field "${needed}" (contacts are keyed by email and ordered by updated_at)`,
        );
    }
  }
  const joins = Object.entries(spec.joins ?? {}).map(([to, from]) => {
    if (from.length === 0) throw new MappingError(`${name}: join into "${to}" has no sources`);
    for (const f of from)
      if (resolvePath(source, f, `${name} source`).type !== 'string')
        throw new MappingError(`${name}: join into "${to}" reads "${f}", which is not text`);
    if (resolvePath(target, to, `${name} target`).type !== 'string')
      throw new MappingError(`${name}: join target "${to}" is not text`);
    if (targets.has(to)) throw new MappingError(`${name}: target "${to}" is mapped more than once`);
    targets.add(to);
    return { to, from: [...from] };
  });
  const conflict = spec.conflict ?? { kind: 'latest_wins' };
  if (conflict.kind === 'source_of_truth' && !VENDOR_SCHEMAS[conflict.source]) {
    throw new MappingError(`${name}: conflict source of truth "${conflict.source}" is not a known system`);
  }
  return {
    name,
    direction,
    system,
    vendorObject,
    internalEntity,
    fields,
    joins,
    conflict,
    reversible: joins.length === 0 && new Set(fields.map((f) => f.from)).size === fields.length,
  };
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
    .filter(
      (f) => mapping.direction === 'outbound' || !(resolvePath(vendor, f.from, mapping.name) as LeafField).readonly,
    )
    .map((f) => ({ from: f.to, to: f.from }));
  return {
    ...mapping,
    joins: [],
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
    if (Array.isArray(value) && /^[0-9]+$/.test(segment)) {
      value = value[Number(segment)];
      walked = walked ? `${walked}.${segment}` : segment;
      continue;
    }
    if (typeof value !== 'object' || Array.isArray(value))
      throw new MappingError(
        `"${walked}" is ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an object, so "${path}" cannot be read`,
      );
    value = (value as Record<string, unknown>)[segment];
    walked = walked ? `${walked}.${segment}` : segment;
  }
  return value;
}

function setPath(record: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let target = record;
  segments.slice(0, -1).forEach((segment, i) => {
    const next = target[segment];
    // A numeric next segment is a list position (`emails.0.value`).
    if (next === undefined)
      target = target[segment] = (/^[0-9]+$/.test(segments[i + 1]) ? [] : {}) as Record<string, unknown>;
    else target = next as Record<string, unknown>;
  });
  target[segments[segments.length - 1]] = value;
}

const compiledPaths = new WeakMap<Mapping, { from: string; to: string[] }[]>();

/** Maps one record; fields absent from the source are absent from the result. */
export function applyMapping(mapping: Mapping, record: Record<string, unknown>): Record<string, unknown> {
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    throw new MappingError(`${mapping.name}: a record must be an object`);
  let paths = compiledPaths.get(mapping);
  if (!paths) compiledPaths.set(mapping, (paths = mapping.fields.map((f) => ({ from: f.from, to: f.to.split('.') }))));
  const out: Record<string, unknown> = {};
  for (const { from, to } of paths) {
    const value = from.includes('.') ? getPath(record, from) : record[from];
    if (value === undefined) continue;
    if (to.length === 1) out[to[0]] = value;
    else setPath(out, to.join('.'), value);
  }
  for (const join of mapping.joins) {
    const parts = join.from
      .map((f) => (f.includes('.') ? getPath(record, f) : record[f]))
      .filter((v) => typeof v === 'string' && v.trim() !== '');
    if (parts.length > 0) setPath(out, join.to, parts.join(' '));
  }
  return out;
}

/** Maps records with `mapping` (a name or a compiled mapping); a record that cannot be read throws naming its index and field. */
export function transformRecords(
  mapping: string | Mapping,
  records: readonly Record<string, unknown>[],
): Record<string, unknown>[] {
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
export function reverseRecords(
  mapping: string,
  records: readonly Record<string, unknown>[],
): Record<string, unknown>[] {
  return transformRecords(reverseMapping(loadMappings().get(mapping)), records);
}
