import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { ServicebusNamespace } from '@cdktf/provider-azurerm/lib/servicebus-namespace';
import { ServicebusQueue } from '@cdktf/provider-azurerm/lib/servicebus-queue';
import { Construct } from 'constructs';

export interface AzureQueueProps {
  /** Namespace name (6-50 characters, globally unique). */
  readonly namespaceName: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Deliveries before a message moves to the queue's dead-letter subqueue. */
  readonly maxDeliveryCount: number;
  /** Peek-lock duration in seconds: how long a worker holds a job before redelivery (at most 300). */
  readonly lockSeconds: number;
  /** Namespace tier (default Standard). */
  readonly sku?: 'Standard' | 'Premium';
}

/**
 * Service Bus namespace (Entra ID auth only: no shared keys, TLS 1.2) and the jobs queue: after
 * `maxDeliveryCount` deliveries, or when a message expires, it moves to the queue's dead-letter
 * subqueue (`jobs/$deadletterqueue`). Duplicate detection backs enqueue dedupe keys (message ids).
 */
export class AzureQueue extends Construct {
  readonly namespace: ServicebusNamespace;
  readonly queue: ServicebusQueue;

  constructor(scope: Construct, id: string, props: AzureQueueProps) {
    super(scope, id);
    if (props.lockSeconds < 5 || props.lockSeconds > 300)
      throw new Error(
        `${props.namespaceName}: Service Bus lock duration must be 5-300 seconds, got ${props.lockSeconds}`,
      );
    this.namespace = new ServicebusNamespace(this, 'namespace', {
      name: props.namespaceName,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: props.sku ?? 'Standard',
      localAuthEnabled: false,
      minimumTlsVersion: '1.2',
    });
    this.queue = new ServicebusQueue(this, 'jobs', {
      name: 'jobs',
      namespaceId: this.namespace.id,
      maxDeliveryCount: props.maxDeliveryCount,
      deadLetteringOnMessageExpiration: true,
      lockDuration: `PT${props.lockSeconds}S`,
      defaultMessageTtl: 'P14D',
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindow: 'PT10M',
    });
  }

  /**
   * Grants an identity roles on the jobs queue only. `owner` (Data Owner) is what a runtime needs:
   * besides send and receive, its depth() reads the queue's runtime properties from the management
   * endpoint, which Sender and Receiver do not allow.
   */
  grant(id: string, principalId: string, roles: readonly ('send' | 'receive' | 'owner')[]): RoleAssignment[] {
    return roles.map(
      (role) =>
        new RoleAssignment(this, `${id}-${role}`, {
          scope: this.queue.id,
          roleDefinitionName: AZURE_SERVICE_BUS_ROLES[role],
          principalId,
          principalType: 'ServicePrincipal',
        }),
    );
  }
}

const AZURE_SERVICE_BUS_ROLES = {
  send: 'Azure Service Bus Data Sender',
  receive: 'Azure Service Bus Data Receiver',
  owner: 'Azure Service Bus Data Owner',
} as const;
