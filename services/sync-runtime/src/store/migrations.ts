/**
 * Every migration of the runtime's store, applied in id order: engine (100_), API (200_), pipelines (300_),
 * analytics (350_), connector state such as OAuth tokens (400_), accounts (500_), the change feed and event outbox (600_).
 */
import type { Migration } from '@data-sync/pipelines/db';
import { PIPELINE_MIGRATIONS } from '@data-sync/pipelines';
import { ANALYTICS_MIGRATIONS } from '@data-sync/pipelines/analytics-migrations';
import { ACCOUNT_MIGRATIONS } from '@data-sync/pipelines/account-migrations';
import { API_MIGRATIONS } from './api-schema';
import { ENGINE_MIGRATIONS } from './engine-schema';
import { INTEGRATION_MIGRATIONS } from '@data-sync/integrations/migrations';
import { META_APP_USER_MIGRATIONS } from '../social/meta-app-users';
import { CHANGE_FEED_MIGRATIONS } from './changes-schema';
import { X_AUTHORIZATION_MIGRATIONS } from '../social/x-authorizations';

export const MIGRATIONS: readonly Migration[] = [
  ...ENGINE_MIGRATIONS,
  ...API_MIGRATIONS,
  ...PIPELINE_MIGRATIONS,
  ...ANALYTICS_MIGRATIONS,
  ...INTEGRATION_MIGRATIONS,
  ...META_APP_USER_MIGRATIONS,
  ...ACCOUNT_MIGRATIONS,
  ...CHANGE_FEED_MIGRATIONS,
  ...X_AUTHORIZATION_MIGRATIONS,
];
