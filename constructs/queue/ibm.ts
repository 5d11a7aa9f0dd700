import { Construct } from 'constructs';
import { IbmEventStreamsTopic, IbmIamAuthorizationPolicy, IbmResourceInstance } from '../generic/ibm';

export interface IbmQueueProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly region: string;
  readonly resourceGroupId: string;
  /** Enterprise plan (dedicated cluster, customer key, private endpoints) for production; standard otherwise. */
  readonly enterprise: boolean;
  /** Key Protect instance GUID and root key CRN (customer-managed encryption, enterprise plan). */
  readonly kmsInstanceGuid: string;
  readonly rootKeyCrn: string;
  /** Partitions of the jobs topic; default 2. */
  readonly partitions?: number;
}

/**
 * Queue capability on IBM Cloud: Event Streams with a jobs topic and a dead-letter topic. Kafka has
 * no delivery count: the worker commits an offset only after a job succeeds or, after
 * maxReceiveCount attempts, after it has produced the job to the dead-letter topic.
 */
export class IbmQueue extends Construct {
  readonly instance: InstanceType<typeof IbmResourceInstance>;
  readonly jobsTopic = 'jobs';
  readonly deadLetterTopic = 'jobs-dlq';
  readonly jobs: InstanceType<typeof IbmEventStreamsTopic>;
  readonly deadLetters: InstanceType<typeof IbmEventStreamsTopic>;

  constructor(scope: Construct, id: string, props: IbmQueueProps) {
    super(scope, id);
    const week = String(7 * 24 * 3600 * 1000);
    if (props.enterprise) {
      const auth = new IbmIamAuthorizationPolicy(this, 'es-reads-key', {
        source_service_name: 'messagehub',
        target_service_name: 'kms',
        target_resource_instance_id: props.kmsInstanceGuid,
        roles: ['Reader'],
        description: 'Event Streams encrypts with the stack root key',
      });
      this.instance = new IbmResourceInstance(this, 'event-streams', {
        name: `${props.prefix}-events`,
        service: 'messagehub',
        plan: 'enterprise-3nodes-2tb',
        location: props.region,
        resource_group_id: props.resourceGroupId,
        parameters: { 'service-endpoints': 'private', kms_key_crn: props.rootKeyCrn },
      });
      this.instance.node.addDependency(auth);
    } else {
      // The standard plan is multi-tenant and encrypted at rest with IBM-managed keys only.
      this.instance = new IbmResourceInstance(this, 'event-streams', {
        name: `${props.prefix}-events`,
        service: 'messagehub',
        plan: 'standard',
        location: props.region,
        resource_group_id: props.resourceGroupId,
      });
    }
    const instanceId = this.instance.id;
    this.jobs = new IbmEventStreamsTopic(this, 'jobs', {
      resource_instance_id: instanceId,
      name: this.jobsTopic,
      partitions: props.partitions ?? 2,
      config: { 'retention.ms': week, 'cleanup.policy': 'delete' },
    });
    this.deadLetters = new IbmEventStreamsTopic(this, 'dead-letters', {
      resource_instance_id: instanceId,
      name: this.deadLetterTopic,
      partitions: 1,
      config: { 'retention.ms': String(30 * 24 * 3600 * 1000), 'cleanup.policy': 'delete' },
    });
  }
}
