import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';

/** Why n8n is not deployed on Cloudflare: the parity exception the stack records. */
export const N8N_ON_WORKERS_EXCEPTION =
  'n8n cannot run on Workers (a long-running Node.js server with a filesystem, native modules and its own database); ' +
  'the stack points at an external n8n origin and protects it with Cloudflare Access instead';

/** n8n paths that authenticate requests themselves (webhook paths and the API key) and bypass Access. */
export const N8N_MACHINE_PATHS = ['webhook', 'api/v1'] as const;

export interface CloudflareN8nAccessProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  readonly zoneId: string;
  readonly zoneName: string;
  /** Hostname of the external n8n origin (where n8n really runs). */
  readonly originHost: string;
  /** Email domain whose users may open the n8n editor. */
  readonly allowedEmailDomain: string;
}

/**
 * The external n8n origin behind Cloudflare: a proxied hostname `<prefix>-n8n.<zone>` pointing at
 * the origin, an Access application that lets only the allowed email domain reach the editor, and a
 * second, more specific one that bypasses Access for the machine paths n8n authenticates itself.
 */
export class CloudflareN8nAccess extends Construct {
  readonly hostname: string;
  /** The external origin's hostname. */
  readonly originHost: string;
  readonly editor: ZeroTrustAccessApplication;
  readonly machinePaths: ZeroTrustAccessApplication;

  constructor(scope: Construct, id: string, props: CloudflareN8nAccessProps) {
    super(scope, id);
    this.hostname = `${props.prefix}-n8n.${props.zoneName}`;
    this.originHost = props.originHost;
    new DnsRecord(this, 'dns', {
      zoneId: props.zoneId,
      name: this.hostname,
      type: 'CNAME',
      content: props.originHost,
      proxied: true,
      ttl: 1,
      comment: 'External n8n origin behind Cloudflare Access',
    });
    const allow = new ZeroTrustAccessPolicy(this, 'allow-team', {
      accountId: props.accountId,
      name: `${props.prefix} n8n editors`,
      decision: 'allow',
      include: [{ emailDomain: { domain: props.allowedEmailDomain } }],
      sessionDuration: '8h',
    });
    const bypass = new ZeroTrustAccessPolicy(this, 'bypass-machine-paths', {
      accountId: props.accountId,
      name: `${props.prefix} n8n webhooks and API`,
      decision: 'bypass',
      include: [{ everyone: {} }],
    });
    this.editor = new ZeroTrustAccessApplication(this, 'editor', {
      accountId: props.accountId,
      name: `${props.prefix} n8n`,
      type: 'self_hosted',
      domain: this.hostname,
      sessionDuration: '8h',
      appLauncherVisible: true,
      policies: [{ id: allow.id, precedence: 1 }],
    });
    this.machinePaths = new ZeroTrustAccessApplication(this, 'machine-paths', {
      accountId: props.accountId,
      name: `${props.prefix} n8n webhooks and API`,
      type: 'self_hosted',
      domain: `${this.hostname}/${N8N_MACHINE_PATHS[0]}`,
      destinations: N8N_MACHINE_PATHS.map((path) => ({ type: 'public', uri: `${this.hostname}/${path}` })),
      appLauncherVisible: false,
      policies: [{ id: bypass.id, precedence: 1 }],
    });
    new TerraformOutput(this, 'url', {
      value: `https://${this.hostname}`,
      description: 'n8n (external origin, behind Cloudflare Access)',
    }).overrideLogicalId('n8n_url');
  }
}
