import { checkPhoneUncached, isoTimestamp, phoneChecker } from './validation';
import { rng } from './testing/generate';

/** Numbers written several ways, national numbers read differently per country, and values that are no number. */
const PHONES = [
  '+1 (415) 555-2671',
  '+1.415.555.2671',
  '+14155552671',
  '(415) 555-2671',
  '020 7946 0958',
  '+44 20 7946 0958',
  '+44 (0) 20 7946 0958',
  '12',
  '+1 555 555 5555',
  '000-000-0000',
  'call me',
  '+1 415 555 2671 ext. 12',
  '415-555-2671 / 415-555-2672',
  '+49 30 901820',
  '030 901820',
];
const COUNTRIES = ['US', 'GB', 'DE', undefined] as const;

describe('phone memo', () => {
  test('answers exactly as libphonenumber does, per value and country, first time and remembered', () => {
    const checker = phoneChecker(1000);
    const mismatches = [];
    for (const pass of [1, 2])
      for (const country of COUNTRIES)
        for (const phone of pass === 1 ? PHONES : [...PHONES].reverse()) {
          const expected = checkPhoneUncached(phone, country);
          if (checker.check(phone, country) !== expected) mismatches.push({ phone, country, expected });
        }
    expect(mismatches).toEqual([]);
    // The same national number is a different number in another country.
    expect(checker.check('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(checker.check('020 7946 0958', 'US')).toBeNull();
  });

  test('holds at most its bound and stays exact after clearing', () => {
    const checker = phoneChecker(50);
    const r = rng(3);
    let largest = 0;
    const mismatches = [];
    for (let i = 0; i < 500; i++) {
      const phone = `+1 415 ${String(200 + Math.floor(r() * 800))} ${String(i).padStart(4, '0')}`;
      // Every value twice: the second answer comes from the memo unless it was just cleared.
      for (const _ of [1, 2])
        if (checker.check(phone, 'US') !== checkPhoneUncached(phone, 'US')) mismatches.push(phone);
      largest = Math.max(largest, checker.size);
    }
    expect(mismatches).toEqual([]);
    expect(largest).toBe(50);
    expect(checker.size).toBeGreaterThan(0);
  });
});

describe('isoTimestamp', () => {
  test('is Date#toISOString for any whole millisecond a Date holds', () => {
    const r = rng(9);
    const cases = [
      0, -1, 1, 86_399_999, 86_400_000, -86_400_000, 951_782_400_000, -62_167_219_200_000, 253_402_300_800_000, 8.64e15,
      -8.64e15,
    ];
    for (let i = 0; i < 20_000; i++) cases.push(Math.floor((r() * 2 - 1) * 8.64e15), Math.floor(1.6e12 + r() * 1e11));
    expect(cases.filter((ms) => isoTimestamp(ms) !== new Date(ms).toISOString())).toEqual([]);
  });
});
