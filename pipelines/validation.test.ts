import { validateRecords, VALIDATION_RULES } from './validation';

const M = 'salesforce_to_internal.Contact';
const base = { Email: 'a@x.io', LastModifiedDate: '2024-01-01T00:00:00.000+0000' };
const one = (record: Record<string, unknown>) => validateRecords(M, [{ ...base, ...record }]);
const errorsOf = (record: Record<string, unknown>) => one(record).invalid[0]?.errors ?? [];
const droppedOf = (record: Record<string, unknown>) => one(record).dropped.map(({ index: _i, ...error }) => error);

describe('validation rules', () => {
  test('email: required, and the design SQL pattern applied to the email as received', () => {
    expect(one({ Email: 'Ann.Lee+tag@Example.CO.uk' }).valid).toHaveLength(1);
    expect(errorsOf({ Email: undefined })).toEqual([
      { field: 'email', rule: 'required', reason: 'email (from Email) is required' },
    ]);
    expect(errorsOf({ Email: '   ' })[0].rule).toBe('required');
    expect(errorsOf({ Email: ' a@x.io' })[0].reason).toBe('email (from Email) has leading or trailing whitespace');
    for (const bad of ['a@b', 'a@b.c', 'a b@x.io', 'a@x.io\n', 'é@x.io'])
      expect(errorsOf({ Email: bad })[0]).toMatchObject({ field: 'email', rule: 'format' });
    expect(errorsOf({ Email: 42 })).toEqual([
      { field: 'email', rule: 'type', reason: 'email (from Email) must be text, got number' },
    ]);
  });

  test('phone: normalized to E.164 with libphonenumber; national numbers read in the default country', () => {
    const phone = (p: unknown) => one({ Phone: p }).valid[0]?.phone_number;
    expect(phone('(415) 555-2671')).toBe('+14155552671');
    expect(phone('+44 20 7946 0958')).toBe('+442079460958');
    expect(phone('')).toBe('');
    expect(phone(null)).toBeNull();
    // An optional value that fails its rule is dropped and the record kept (rule action `drop`, the default).
    expect(droppedOf({ Phone: '12' })).toEqual([
      {
        field: 'phone_number',
        rule: 'format',
        reason: 'phone_number (from Phone) is not a valid phone number (numbers without a country code are read as US)',
      },
    ]);
    expect(one({ Phone: '12' }).valid[0]).not.toHaveProperty('phone_number');
    // The fictional 555 range is not a valid number: real CRM exports are full of them.
    expect(one({ Phone: '555-0100' }).valid).toHaveLength(1);
  });

  test('rule actions: quarantine the record, drop the value, or keep it as received', () => {
    const with_ = (action: 'quarantine' | 'drop' | 'keep') =>
      validateRecords(M, [{ ...base, Phone: '12' }], {
        ...VALIDATION_RULES,
        phone_number: { ...VALIDATION_RULES.phone_number, action },
      });
    expect(with_('quarantine')).toMatchObject({
      valid: [],
      invalid: [{ index: 0, errors: [{ field: 'phone_number', rule: 'format' }] }],
      dropped: [],
    });
    expect(with_('drop')).toMatchObject({ invalid: [], dropped: [{ index: 0, field: 'phone_number' }] });
    expect(with_('drop').valid[0]).not.toHaveProperty('phone_number');
    expect(with_('keep')).toMatchObject({ invalid: [], dropped: [], valid: [{ phone_number: '12' }] });
    // The required email quarantines; a record quarantined for it lists its dropped-value reasons too.
    expect(errorsOf({ Email: 'bad', Phone: '12' }).map((e) => e.field)).toEqual(['email', 'phone_number']);
  });

  test('company: trimmed, then at most 255 characters (counted as characters, not UTF-16 units)', () => {
    expect(one({ Account: { Name: '  Acme  ' } }).valid[0].company_name).toBe('Acme');
    expect(one({ Account: { Name: `${'é'.repeat(254)}😀` } }).valid).toHaveLength(1);
    expect(droppedOf({ Account: { Name: 'x'.repeat(256) } })).toEqual([
      {
        field: 'company_name',
        rule: 'max_length',
        reason: 'company_name (from Account.Name) is 256 characters, more than 255',
      },
    ]);
    expect(droppedOf({ FirstName: ` ${'y'.repeat(300)} ` })[0]).toMatchObject({
      field: 'first_name',
      rule: 'max_length',
    });
  });

  test('timestamps: updated_at required, ISO 8601 with a zone, stored as UTC', () => {
    expect(one({}).valid[0].updated_at).toBe('2024-01-01T00:00:00.000Z');
    expect(
      one({ LastModifiedDate: '2024-06-01T12:00:00+02:00', CreatedDate: '2024-06-01 09:30Z' }).valid[0],
    ).toMatchObject({ updated_at: '2024-06-01T10:00:00.000Z', created_at: '2024-06-01T09:30:00.000Z' });
    expect(errorsOf({ LastModifiedDate: undefined })[0]).toMatchObject({ field: 'updated_at', rule: 'required' });
    expect(errorsOf({ LastModifiedDate: '2024-06-01T12:00:00' })[0].reason).toBe(
      'updated_at (from LastModifiedDate) must be an ISO 8601 timestamp with a time zone',
    );
    expect(errorsOf({ LastModifiedDate: '2024-13-45T00:00:00Z' })[0].rule).toBe('format');
  });

  test('every failing field is reported, and indexes point at the input records', () => {
    const { valid, invalid, validIndexes, dropped } = validateRecords(M, [
      { Phone: 'x', LastModifiedDate: 'soon' },
      base,
      { ...base, Account: { Name: 'y'.repeat(300) } },
    ]);
    expect(validIndexes).toEqual([1, 2]);
    expect(valid).toHaveLength(2);
    expect(invalid.map((i) => [i.index, i.errors.map((e) => `${e.field}:${e.rule}`)])).toEqual([
      [0, ['email:required', 'phone_number:format', 'updated_at:format']],
    ]);
    expect(dropped.map((d) => `${d.index}:${d.field}:${d.rule}`)).toEqual(['2:company_name:max_length']);
  });

  test('rules can be replaced (a fixed rule, then replay)', () => {
    expect(
      validateRecords(M, [{ ...base, Phone: '12' }], { ...VALIDATION_RULES, phone_number: {} }).valid,
    ).toHaveLength(1);
  });
});
