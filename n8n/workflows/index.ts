/**
 * Every workflow this service provisions into n8n, and which are active in an environment: all of them
 * need `enableN8nWorkflows`; those tied to an integration family also need its flag
 * (`enableCrmSync`, ...). Inactive ones are still imported (deactivated), so turning a flag off
 * unpublishes a workflow instead of leaving an old copy running.
 */
import type { FeatureFlags } from '@data-sync/config/environments';
import { syncFailureAlert, triggerSync } from './data-sync-api';
import { mailchimpSubscriberSync } from './mailchimp-subscriber-sync';
import { mindsdbQuery } from './mindsdb-query';
import { salesforceContactSync } from './salesforce-contact-sync';
import type { N8nWorkflowJson } from './workflow';

export interface WorkflowEntry {
  readonly build: () => N8nWorkflowJson;
  /** Flag besides enableN8nWorkflows that must be on; none for workflows of the service itself. */
  readonly flag?: keyof FeatureFlags;
}

export const WORKFLOWS: readonly WorkflowEntry[] = [
  { build: salesforceContactSync, flag: 'enableCrmSync' },
  { build: mailchimpSubscriberSync, flag: 'enableMarketingSync' },
  { build: mindsdbQuery, flag: 'enableAnalyticsSync' },
  { build: triggerSync },
  { build: syncFailureAlert },
];

/** Whether a workflow runs (is published) under these flags. */
export function isActive(entry: WorkflowEntry, features: FeatureFlags): boolean {
  return features.enableN8nWorkflows && (!entry.flag || features[entry.flag]);
}

export { linearWorkflow, setting, settingsOf, type N8nWorkflowJson, type N8nNode } from './workflow';
