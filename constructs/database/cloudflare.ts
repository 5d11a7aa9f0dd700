import { HyperdriveConfig } from '@cdktf/provider-cloudflare/lib/hyperdrive-config';
import type { WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import { Construct } from 'constructs';

export interface CloudflareDatabaseProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  /** The PostgreSQL server Hyperdrive pools connections to (reachable from Cloudflare, TLS). */
  readonly origin: { readonly host: string; readonly port: number; readonly database: string; readonly user: string };
  /** Database password: a sensitive Terraform variable, never a literal. */
  readonly password: string;
  /** Connections Hyperdrive may hold open to the origin; @default 20 */
  readonly connectionLimit?: number;
}

/**
 * Hyperdrive in front of the PostgreSQL database: pooled, TLS connections from every Worker. Query
 * caching is off: the runtime reads its own writes (cursors, run records) and must never see stale rows.
 */
export class CloudflareDatabase extends Construct {
  readonly hyperdrive: HyperdriveConfig;

  constructor(scope: Construct, id: string, props: CloudflareDatabaseProps) {
    super(scope, id);
    this.hyperdrive = new HyperdriveConfig(this, 'hyperdrive', {
      accountId: props.accountId,
      name: `${props.prefix}-postgres`,
      origin: { scheme: 'postgres', ...props.origin, password: props.password },
      caching: { disabled: true },
      originConnectionLimit: props.connectionLimit ?? 20,
    });
  }

  /** The `HYPERDRIVE` binding (its connectionString is what the runtime's pg client uses). */
  binding(): WorkersScriptBindings {
    return { type: 'hyperdrive', name: 'HYPERDRIVE', id: this.hyperdrive.id };
  }
}
