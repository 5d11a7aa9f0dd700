/**
 * Delete detection for vendors whose API reports no deletes (Klaviyo profiles, Pipedrive v2): a
 * scheduled sweep lists the ids still live at the vendor and tombstones the synced ids that are gone.
 */
import { IntegrationError, type Connector } from './connector';

/** The ids in `known` (synced earlier) that the vendor no longer lists for `object`. */
export async function sweepDeleted(
  system: string,
  connector: Connector,
  object: string,
  known: Iterable<string>,
): Promise<string[]> {
  if (!connector.listIds)
    throw new IntegrationError(
      system,
      'invalid_config',
      `${system} reports deletes in its pulls and has no reconciliation sweep`,
    );
  const live = new Set<string>();
  for await (const id of connector.listIds(object)) live.add(id);
  return [...new Set(known)].filter((id) => !live.has(id));
}
