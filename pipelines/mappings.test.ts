import fc from 'fast-check';
import {
  compileMapping,
  loadMappings,
  MappingError,
  reverseMapping,
  reverseRecords,
  transformRecords,
} from './mappings';

const SF_FIELDS = {
  FirstName: 'first_name',
  LastName: 'last_name',
  Email: 'email',
  Phone: 'phone_number',
  'Account.Name': 'company_name',
  CreatedDate: 'created_at',
  LastModifiedDate: 'updated_at',
};

describe('loading mappings', () => {
  test("the design document's mappings load, with dotted source paths", () => {
    const set = loadMappings();
    expect(set.get('salesforce_to_internal.Contact').fields).toContainEqual({
      from: 'Account.Name',
      to: 'company_name',
    });
    expect(set.get('internal_to_mailchimp.User')).toMatchObject({
      direction: 'outbound',
      system: 'mailchimp',
      vendorObject: 'member',
    });
    expect(() => set.get('salesforce_to_internal.Opportunity')).toThrow(
      'unknown mapping "salesforce_to_internal.Opportunity"',
    );
  });

  test.each([
    [{ ...SF_FIELDS, Emial: 'email' }, 'unknown field "Emial"'],
    [{ ...SF_FIELDS, 'Account.Owner': 'last_name' }, 'unknown field "Account.Owner"'],
    [{ ...SF_FIELDS, 'Email.Domain': 'company_name' }, '"Email" is a string, so path "Email.Domain" cannot exist'],
    [{ ...SF_FIELDS, FirstName: 'given_name' }, 'target: unknown field "given_name"'],
    [{ ...SF_FIELDS, 'Account.': 'company_name' }, 'empty segment in field path "Account."'],
    [{ ...SF_FIELDS, Account: 'company_name' }, '"Account" is an object; map its fields instead'],
    [{ ...SF_FIELDS, LastName: 'first_name' }, 'target "first_name" is mapped more than once'],
    [{ ...SF_FIELDS, CreatedDate: 'email' }, '"CreatedDate" is a timestamp but "email" is a string'],
  ])('a bad mapping fails at load, naming the field (%#)', (fields, message) => {
    expect(() => compileMapping('salesforce_to_internal', 'Contact', { fields })).toThrow(message);
  });

  test('an inbound mapping without the email key or updated_at is refused', () => {
    const { Email: _e, ...withoutEmail } = SF_FIELDS;
    expect(() => compileMapping('salesforce_to_internal', 'Contact', { fields: withoutEmail })).toThrow(
      'must map internal field "email"',
    );
    expect(() => compileMapping('salesforce_to_internal', 'Opportunity', { fields: SF_FIELDS })).toThrow(
      'unknown salesforce object "Opportunity"',
    );
    expect(() => compileMapping('salesforce_to_zoho', 'Contact', { fields: SF_FIELDS })).toThrow(
      '<system>_to_internal or internal_to_<system>',
    );
    expect(() =>
      compileMapping('salesforce_to_internal', 'Contact', {
        fields: SF_FIELDS,
        conflict: { kind: 'source_of_truth', source: 'sap' },
      }),
    ).toThrow('source of truth "sap"');
    expect(() =>
      loadMappings({
        internal_to_mailchimp: {
          User: {
            vendorObject: 'member',
            fields: { first_name: 'merge_fields.FNAME', nickname: 'merge_fields.LNAME' },
          },
        },
      }),
    ).toThrow('source: unknown field "nickname"');
  });
});

describe('running mappings', () => {
  test('maps nested vendor fields; absent or null parents give absent fields', () => {
    const out = transformRecords('salesforce_to_internal.Contact', [
      { FirstName: 'Ann', Email: 'a@x.io', Account: { Name: 'Acme' }, LastModifiedDate: '2024-01-01T00:00:00Z' },
      { Email: 'b@x.io', Account: null },
    ]);
    expect(out).toEqual([
      { first_name: 'Ann', email: 'a@x.io', company_name: 'Acme', updated_at: '2024-01-01T00:00:00Z' },
      { email: 'b@x.io' },
    ]);
    expect(
      transformRecords('internal_to_mailchimp.User', [
        { first_name: 'Ann', last_name: 'Lee', email: 'a@x.io', created_at: 't', company_name: 'Acme' },
      ]),
    ).toEqual([{ merge_fields: { FNAME: 'Ann', LNAME: 'Lee' }, email_address: 'a@x.io', timestamp_signup: 't' }]);
  });

  test('list positions read and write the first entry of a list (Pipedrive emails), and joins build a full name', () => {
    expect(
      transformRecords('pipedrive_to_internal.persons', [
        { emails: [{ value: 'a@x.io', primary: true }], phones: [], update_time: '2024-01-01T00:00:00Z' },
      ]),
    ).toEqual([{ email: 'a@x.io', updated_at: '2024-01-01T00:00:00Z' }]);
    expect(
      transformRecords('internal_to_pipedrive.persons', [{ email: 'a@x.io', first_name: 'Ann', last_name: 'Lee' }]),
    ).toEqual([{ first_name: 'Ann', last_name: 'Lee', emails: [{ value: 'a@x.io' }], name: 'Ann Lee' }]);
    expect(transformRecords('internal_to_pipedrive.persons', [{ email: 'a@x.io' }])[0]).not.toHaveProperty('name');
  });

  test('a record whose path cannot be read is an error naming the record and field', () => {
    expect(() =>
      transformRecords('salesforce_to_internal.Contact', [{ Email: 'a@x.io' }, { Account: ['Acme'] }]),
    ).toThrow('record 1: "Account" is an array, not an object, so "Account.Name" cannot be read');
    expect(() => transformRecords('salesforce_to_internal.Contact', [null as never])).toThrow(MappingError);
  });

  test('a 1:1 mapping runs in reverse, leaving out fields the vendor sets itself', () => {
    const reverse = reverseMapping(loadMappings().get('salesforce_to_internal.Contact'));
    expect(reverse).toMatchObject({ name: 'internal_to_salesforce.Contact', direction: 'outbound' });
    expect(
      reverseRecords('salesforce_to_internal.Contact', [
        { first_name: 'Ann', email: 'a@x.io', company_name: 'Acme', updated_at: '2024-01-01T00:00:00Z' },
      ]),
    ).toEqual([{ FirstName: 'Ann', Email: 'a@x.io', Account: { Name: 'Acme' } }]);
  });

  test('property: internal -> vendor -> internal gives back every writable field', () => {
    const text = fc.option(fc.string(), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({ first_name: text, last_name: text, email: fc.string(), phone_number: text, company_name: text }),
        (record) => {
          const defined = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
          const vendor = reverseRecords('salesforce_to_internal.Contact', [defined]);
          expect(transformRecords('salesforce_to_internal.Contact', vendor)).toEqual([defined]);
        },
      ),
    );
  });
});
