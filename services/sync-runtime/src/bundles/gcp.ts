/**
 * The GCP container (Cloud Run): jobs arrive as Pub/Sub pushes (verified OIDC tokens) and follow-up
 * jobs go through the store's queue, so the Pub/Sub client library is not needed here.
 */
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';
import { createGoogleOidcVerifier } from '../security/google-oidc';

export const GCP_QUEUES = { store: storeQueue } as const;

if (require.main === module) void runProcess({ queues: GCP_QUEUES, pubsubPushVerifier: createGoogleOidcVerifier });
