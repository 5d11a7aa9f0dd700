import {
  cipherFromEnv,
  classifyField,
  FieldCipher,
  maskPii,
  protectRecord,
  REDACTED,
  revealRecord,
  subjectHash,
} from './privacy';

describe('classification', () => {
  test('from config, else from the field name; company names are not personal', () => {
    expect(
      [
        'email',
        'Email',
        'email_address',
        'Phone',
        'FNAME',
        'properties.firstname',
        'home_phone',
        'billing_address',
      ].map(classifyField),
    ).toEqual(['email', 'email', 'email', 'phone', 'name', 'name', 'phone', 'address']);
    expect(['company_name', 'Account.Name', 'updated_at', 'Id'].map(classifyField)).toEqual([
      'none',
      'none',
      'none',
      'none',
    ]);
    expect(['ssn', 'customer.creditCard', 'bank_account_number'].map(classifyField)).toEqual([
      'ssn',
      'credit_card',
      'bank_account',
    ]);
  });
});

describe('masking', () => {
  const record = {
    email: 'ann.lee@example.com',
    phone_number: '+14155552671',
    first_name: 'Ann',
    company_name: 'Acme',
    Account: { Name: 'Acme' },
    ssn: '123-45-6789',
    updated_at: '2024-01-01',
  };

  test('below operator, PII is masked; sensitive fields are redacted for every role', () => {
    expect(maskPii(record, 'viewer')).toEqual({
      ...record,
      email: 'a***@example.com',
      phone_number: '***71',
      first_name: 'A***',
      ssn: REDACTED,
    });
    expect(maskPii(record, 'operator')).toEqual({ ...record, ssn: REDACTED });
    expect(maskPii(record, 'admin')).toEqual({ ...record, ssn: REDACTED });
    expect(record.email).toBe('ann.lee@example.com');
    expect(() => maskPii(record, 'root' as never)).toThrow('unknown role "root"');
  });
});

describe('column-level encryption', () => {
  const key = Buffer.alloc(32, 1);
  const cipher = new FieldCipher(key);

  test('AES-256-GCM round trip; a fresh IV each time; bound to its field', () => {
    const a = cipher.encrypt('ssn', '123-45-6789');
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toBe(cipher.encrypt('ssn', '123-45-6789'));
    expect(cipher.decrypt('ssn', a)).toBe('123-45-6789');
    expect(() => cipher.decrypt('bank_account', a)).toThrow('does not authenticate');
    expect(() => new FieldCipher(Buffer.alloc(32, 2)).decrypt('ssn', a)).toThrow('wrong key or tampered');
    const tampered = a.slice(0, -4) + (a.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => cipher.decrypt('ssn', tampered)).toThrow('does not authenticate');
  });

  test('keys are read from hex or base64 and a bad key is refused by name', () => {
    expect(FieldCipher.fromString(key.toString('hex')).decrypt('x', cipher.encrypt('x', 'v'))).toBe('v');
    expect(FieldCipher.fromString(key.toString('base64')).decrypt('x', cipher.encrypt('x', 'v'))).toBe('v');
    expect(() => FieldCipher.fromString('short')).toThrow('DATA_SYNC_ENCRYPTION_KEY must be 32 bytes');
    expect(cipherFromEnv({})).toBeUndefined();
    expect(
      cipherFromEnv({ DATA_SYNC_ENCRYPTION_KEY: key.toString('hex') })?.decrypt('x', cipher.encrypt('x', 'v')),
    ).toBe('v');
    expect(() => cipherFromEnv({ DATA_SYNC_ENCRYPTION_KEY: 'x'.repeat(64) })).toThrow(
      'DATA_SYNC_ENCRYPTION_KEY must be 32 bytes',
    );
    expect(() => new FieldCipher(Buffer.alloc(16))).toThrow('must be 32 bytes');
  });

  test('protectRecord encrypts sensitive fields at any depth, or redacts them without a key', () => {
    const record = { email: 'a@x.io', ssn: '1', payment: { credit_card: '4111' }, bank_account: null };
    const stored = protectRecord(record, cipher);
    expect(stored.email).toBe('a@x.io');
    expect(JSON.stringify(stored)).not.toMatch(/"1"|4111/);
    expect(revealRecord(stored, cipher)).toEqual(record);
    expect(protectRecord(record)).toEqual({
      email: 'a@x.io',
      ssn: REDACTED,
      payment: { credit_card: REDACTED },
      bank_account: null,
    });
    expect(protectRecord(null as never)).toBeNull();
  });

  test('subject hashes ignore case and surrounding space', () => {
    expect(subjectHash(' A@X.io ')).toBe(subjectHash('a@x.io'));
    expect(subjectHash('a@x.io')).toMatch(/^[0-9a-f]{64}$/);
  });
});
