/**
 * The design's "Mailchimp Subscriber Sync": every 15 minutes, the application's users created in the
 * last 15 minutes are added to the `newsletter` audience. The design's deprecated `cron` node is the
 * Schedule Trigger today; Mailchimp's node takes the audience id, which is account data, so it is the
 * MAILCHIMP_NEWSLETTER_LIST_ID setting. Merge fields follow the design's mapping (FNAME, LNAME).
 */
import { everyMinutes, onDemand, mailchimpAddMember, postgresQuery } from './nodes';
import { linearWorkflow, setting, type N8nWorkflowJson } from './workflow';

export const MAILCHIMP_SUBSCRIBER_SYNC_ID = 'dsMcSubscriber01';
export const SUBSCRIBER_SYNC_MINUTES = 15;

export function mailchimpSubscriberSync(): N8nWorkflowJson {
  return linearWorkflow({
    id: MAILCHIMP_SUBSCRIBER_SYNC_ID,
    name: 'Mailchimp Subscriber Sync',
    alsoStartedBy: onDemand(),
    nodes: [
      everyMinutes('Schedule Trigger', SUBSCRIBER_SYNC_MINUTES),
      postgresQuery(
        'Get New Users',
        `SELECT email, first_name, last_name, created_at FROM users WHERE created_at > NOW() - INTERVAL '${SUBSCRIBER_SYNC_MINUTES} minutes'`,
      ),
      // The window and the schedule meet at their edges, so a user can come up in two runs (or in a run started
      // by hand beside a scheduled one): Mailchimp answers "Member Exists", which must not stop the others.
      mailchimpAddMember(
        'Mailchimp Add Subscriber',
        setting('MAILCHIMP_NEWSLETTER_LIST_ID'),
        '={{ $json.email }}',
        { FNAME: '={{ $json.first_name }}', LNAME: '={{ $json.last_name }}' },
        { continueOnError: true },
      ),
    ],
  });
}
