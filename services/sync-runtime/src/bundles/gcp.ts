/**
 * The GCP container (Cloud Run): jobs arrive as Pub/Sub pushes (verified OIDC tokens) and follow-up
 * jobs go through the store's queue, so the Pub/Sub client library is not needed here. n8n's main
 * service admits only its invokers, so every n8n call carries the runtime's Google ID token.
 */
import { BASE_EVENT_BUSES } from '../events/openers';
import { pubsubEventBus } from '../events/openers/pubsub';
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';
import { googleIdTokenAuth } from '../security/google-id-token';
import { createGoogleOidcVerifier } from '../security/google-oidc';

export const GCP_QUEUES = { store: storeQueue } as const;
/** Events go to the stack's Pub/Sub topic (over REST: see events/pubsub.ts). */
export const GCP_EVENT_BUSES = { ...BASE_EVENT_BUSES, pubsub: pubsubEventBus } as const;

if (require.main === module)
  void runProcess({
    queues: GCP_QUEUES,
    eventBuses: GCP_EVENT_BUSES,
    pubsubPushVerifier: createGoogleOidcVerifier,
    n8nAuth: (n8nUrl) => googleIdTokenAuth(n8nUrl),
  });
