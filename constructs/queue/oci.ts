import { Construct } from 'constructs';
import { OciStreamingStream, OciStreamingStreamPool } from '../generic/oci';

export interface OciQueueProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly compartmentId: string;
  /** Vault master key that encrypts the stream pool. */
  readonly kmsKeyId: string;
  /** Private subnet of the pool's endpoint (the pool is not reachable from the internet). */
  readonly subnetId: string;
  /** Network security groups of the pool's endpoint. */
  readonly nsgIds: readonly string[];
  /** Partitions of the jobs stream; default 2 (one per worker instance). */
  readonly partitions?: number;
  /** Hours messages are kept (24-168); default 168 so a stalled worker loses nothing for a week. */
  readonly retentionHours?: number;
}

/**
 * Queue capability on OCI: a private stream pool encrypted with the Vault key, holding the jobs
 * stream and its dead-letter stream. Streaming counts no deliveries itself: the worker tracks
 * attempts per message and publishes a message to the dead-letter stream after maxReceiveCount.
 */
export class OciQueue extends Construct {
  readonly streamPoolId: string;
  readonly jobs: InstanceType<typeof OciStreamingStream>;
  readonly deadLetters: InstanceType<typeof OciStreamingStream>;
  readonly jobsStreamId: string;
  readonly deadLetterStreamId: string;
  /** HTTPS endpoint for the Streaming API (messages endpoint of the pool). */
  readonly messagesEndpoint: string;

  constructor(scope: Construct, id: string, props: OciQueueProps) {
    super(scope, id);
    const retention = props.retentionHours ?? 168;
    if (retention < 24 || retention > 168)
      throw new Error(`OciQueue ${props.prefix}: retentionHours must be 24-168, got ${retention}`);
    const pool = new OciStreamingStreamPool(this, 'pool', {
      compartment_id: props.compartmentId,
      name: `${props.prefix}-jobs`,
      custom_encryption_key: { kms_key_id: props.kmsKeyId },
      private_endpoint_settings: { subnet_id: props.subnetId, nsg_ids: [...props.nsgIds] },
    });
    const jobs = new OciStreamingStream(this, 'jobs', {
      name: `${props.prefix}-jobs`,
      partitions: props.partitions ?? 2,
      retention_in_hours: retention,
      stream_pool_id: pool.id,
    });
    const deadLetters = new OciStreamingStream(this, 'dead-letters', {
      name: `${props.prefix}-jobs-dlq`,
      partitions: 1,
      retention_in_hours: 168,
      stream_pool_id: pool.id,
    });
    this.streamPoolId = pool.id;
    this.jobs = jobs;
    this.deadLetters = deadLetters;
    this.jobsStreamId = jobs.id;
    this.deadLetterStreamId = deadLetters.id;
    this.messagesEndpoint = jobs.attr('messages_endpoint');
  }
}
