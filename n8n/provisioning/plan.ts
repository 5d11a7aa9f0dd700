/**
 * What a deployment provisions into its n8n, as one JSON document the start step
 * (`n8n/provisioning/start.js`) reads from N8N_PROVISIONING: every workflow (imported deactivated),
 * the ids to publish, and the credentials the published ones use (definitions only; the values
 * come from the N8N_CREDENTIALS secret at start).
 */
import type { FeatureFlags } from '@data-sync/config/environments';
import { CREDENTIALS, type CredentialDefinition } from '../credentials';
import { WORKFLOWS, isActive, settingsOf, type N8nWorkflowJson } from '../workflows';

export interface ProvisioningPlan {
  readonly workflows: readonly N8nWorkflowJson[];
  /** Workflow ids to publish (activate), in import order. */
  readonly publish: readonly string[];
  readonly credentials: readonly CredentialDefinition[];
  /** Settings (`@@NAME@@`) the published workflows need at start. */
  readonly settings: readonly string[];
}

const BY_ID = new Map<string, CredentialDefinition>(Object.values(CREDENTIALS).map((c) => [c.id, c]));

export function provisioningPlan(features: FeatureFlags): ProvisioningPlan {
  const all = WORKFLOWS.map((entry) => ({ workflow: entry.build(), active: isActive(entry, features) }));
  const ids = all.map((w) => w.workflow.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new Error(`two workflows share the id ${twice}`);
  const published = all.filter((w) => w.active).map((w) => w.workflow);
  const credentialIds = new Set(
    published.flatMap((w) => w.nodes.flatMap((n) => Object.values(n.credentials ?? {}).map((c) => c.id))),
  );
  const credentials = [...credentialIds].map((id) => {
    const definition = BY_ID.get(id);
    if (!definition) throw new Error(`a workflow uses credential ${id}, which n8n/credentials does not define`);
    return definition;
  });
  return {
    // Inactive workflows are imported without their settings filled in: they cannot run anyway.
    workflows: all.map((w) => w.workflow),
    publish: published.map((w) => w.id),
    credentials,
    settings: [...new Set(published.flatMap(settingsOf))],
  };
}
