/** The items of a list-valued context key: given as a list, or as one comma-separated string (`-c key=a,b`). */
export function contextItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [value];
}
