/**
 * Customer-list matching keys as Meta, LinkedIn and X want them: normalized, then SHA-256 in hex.
 * Email: trimmed and lower-cased. Names: lower-cased, without punctuation or spaces. Phone: digits
 * only, with the country code (the E.164 number without its `+`).
 */
import { createHash } from 'crypto';

export const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export function normalizeEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? email : undefined;
}

export function normalizeName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, '');
  return name || undefined;
}

export function normalizePhone(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const digits = value.replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 8 ? digits : undefined;
}

/** One member's hashed keys, or the reason it cannot be matched. */
export interface HashedMember {
  readonly key: string;
  readonly email: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly phone?: string;
}

/** Hashes the audience members among `records` ({ email, first_name, last_name, phone_number }); the rest fail by key. */
export function hashMembers(records: readonly Record<string, unknown>[]): {
  members: HashedMember[];
  failed: { key: string; reason: string }[];
} {
  const members: HashedMember[] = [];
  const failed: { key: string; reason: string }[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    const email = normalizeEmail(record.email);
    if (!email) {
      failed.push({
        key: typeof record.email === 'string' && record.email ? record.email : `#${index}`,
        reason: 'a valid email is required to match an audience member',
      });
      return;
    }
    if (seen.has(email)) return;
    seen.add(email);
    const first = normalizeName(record.first_name);
    const last = normalizeName(record.last_name);
    const phone = normalizePhone(record.phone_number);
    members.push({
      key: email,
      email: sha256(email),
      firstName: first && sha256(first),
      lastName: last && sha256(last),
      phone: phone && sha256(phone),
    });
  });
  return { members, failed };
}
