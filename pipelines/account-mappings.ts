/**
 * How each ERP's organization records become `accounts` rows: SAP business partners of category 2
 * (`organizations`), Dataverse `accounts`, and NetSuite customers that are companies (`isperson` F;
 * the persons among them are contacts). A record without a name is refused with its reason.
 */
type VendorRecord = Record<string, unknown>;

export interface AccountRow {
  readonly external_id: string;
  readonly name: string;
  readonly account_number: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly website: string | null;
  readonly source_updated_at: string | null;
}

/** A row, nothing (the record is not an account: a NetSuite person), or the reasons it was refused. */
export type AccountMapped =
  | { readonly ok: true; readonly row: AccountRow | null }
  | { readonly ok: false; readonly errors: readonly { field: string; rule: string; message: string }[] };

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
const results = (value: unknown): VendorRecord[] =>
  ((value as { results?: VendorRecord[] } | undefined)?.results ?? []) as VendorRecord[];

type AccountInput = Omit<AccountRow, 'external_id' | 'name'> & { readonly name: string | null };

function row(id: unknown, fields: AccountInput): AccountMapped {
  if (!text(String(id ?? '')))
    return { ok: false, errors: [{ field: 'external_id', rule: 'required', message: 'the record has no vendor id' }] };
  if (!fields.name)
    return { ok: false, errors: [{ field: 'name', rule: 'required', message: 'an account needs a name' }] };
  return {
    ok: true,
    row: { external_id: String(id), ...fields, name: fields.name, email: fields.email?.toLowerCase() ?? null },
  };
}

/** Mappers per source and object. */
export const ACCOUNT_MAPPINGS: Readonly<
  Record<string, Readonly<Record<string, (record: VendorRecord) => AccountMapped>>>
> = {
  sap: {
    organizations: (r) => {
      const [address] = results(r.to_BusinessPartnerAddress);
      return row(r.BusinessPartner, {
        name: text(r.OrganizationBPName1) ?? text(r.BusinessPartnerFullName),
        account_number: text(r.Customer),
        email: text(results(address?.to_EmailAddress)[0]?.EmailAddress),
        phone: text(results(address?.to_PhoneNumber)[0]?.PhoneNumber),
        website: null,
        source_updated_at: text(r.LastChangeDateTime),
      });
    },
  },
  dynamics: {
    accounts: (r) =>
      row(r.accountid, {
        name: text(r.name),
        account_number: text(r.accountnumber),
        email: text(r.emailaddress1),
        phone: text(r.telephone1),
        website: text(r.websiteurl),
        source_updated_at: text(r.modifiedon),
      }),
  },
  netsuite: {
    customer: (r) =>
      r.isperson === 'T'
        ? { ok: true, row: null }
        : row(r.id, {
            name: text(r.companyname),
            account_number: text(r.entityid),
            email: text(r.email),
            phone: text(r.phone),
            website: null,
            source_updated_at: text(r.lastmodifieddate),
          }),
  },
};
