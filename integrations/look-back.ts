/**
 * Incremental pulls that cannot skip a change the vendor exposes late: a change saved in a long
 * transaction, or indexed late, carries a modification time older than changes already listed. Each
 * incremental run re-reads a window behind its watermark and emits only the versions it has not emitted
 * yet, which the cursor remembers for as long as they are inside that window.
 */

/** How far behind the newest change a vendor may still expose one. */
export const LOOK_BACK_MS = 5 * 60_000;

/** Most versions a cursor remembers; past it the oldest are forgotten, and re-emitted once at worst. */
const MAX_VERSIONS = 10_000;

/** Versions emitted inside the window: id -> modification time (ms). */
export type Versions = Readonly<Record<string, number>>;

/** A record's id and modification time (ms). */
export type VersionOf<T> = (record: T) => { readonly id: string; readonly ms: number };

/** `records` without those already emitted at the same version. */
export function unseen<T>(records: readonly T[], versions: Versions | undefined, versionOf: VersionOf<T>): T[] {
  if (!versions) return [...records];
  return records.filter((record) => {
    const { id, ms } = versionOf(record);
    return versions[id] !== ms;
  });
}

/** `versions` with `records` added, keeping only those inside the window behind `newestMs`. */
export function remember<T>(
  versions: Versions | undefined,
  records: readonly T[],
  versionOf: VersionOf<T>,
  newestMs: number,
): Versions {
  const all = new Map(Object.entries(versions ?? {}));
  for (const record of records) {
    const { id, ms } = versionOf(record);
    all.set(id, ms);
  }
  const kept = [...all].filter(([, ms]) => ms >= newestMs - LOOK_BACK_MS).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(kept.slice(0, MAX_VERSIONS));
}
