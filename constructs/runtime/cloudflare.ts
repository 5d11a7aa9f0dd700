import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { WorkersRoute } from '@cdktf/provider-cloudflare/lib/workers-route';
import { ZoneSetting } from '@cdktf/provider-cloudflare/lib/zone-setting';
import { WorkersScript, WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import { Fn, Token, ref } from 'cdktf';
import { Construct } from 'constructs';
import { SLOTS, type Slot } from '@data-sync/config';

/** The Worker bundle the Cloudflare entry builds (services/sync-runtime/src/cloudflare), relative to the project root. */
export const CLOUDFLARE_BUNDLE = 'dist/runtime/cloudflare.js';
/** From a stack's directory (`cdktf.out/stacks/<stack>`, where Terraform runs) back to the project root. */
const STACK_DIR_TO_ROOT = '../../..';
/** Workers runtime settings shared by every script of the stack. */
export const WORKER_COMPATIBILITY: { readonly compatibilityDate: string; readonly compatibilityFlags: string[] } = {
  compatibilityDate: '2025-07-01',
  compatibilityFlags: ['nodejs_compat'],
};

/**
 * Script content for a Worker: the ES module bundle read by Terraform at plan time (`file()`-style
 * reference, so synth never needs the bundle; `npm run synth` builds it before any plan).
 */
export function workerModule(): { contentFile: string; contentSha256: string; mainModule: string } {
  const file = `${Token.asString(ref('path.module'))}/${STACK_DIR_TO_ROOT}/${CLOUDFLARE_BUNDLE}`;
  return { contentFile: file, contentSha256: Fn.filesha256(file), mainModule: 'cloudflare.js' };
}

/** Terraform keeps the code a script was last deployed with when it is not the one being deployed. */
export const KEEP_DEPLOYED_CODE = { ignoreChanges: ['content_file', 'content_sha256'] };

export interface CloudflareRuntimeProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  /** Zone the API is served from: id and name (e.g. `example.com`). */
  readonly zoneId: string;
  readonly zoneName: string;
  /** Version label per slot (the image tags); the deploying slot's script gets the current bundle. */
  readonly versions: Readonly<Record<Slot, string>>;
  /** Slot whose script the main hostname routes to. */
  readonly activeSlot: Slot;
  /** Slot whose script receives the current bundle; the other keeps the code it was deployed with. */
  readonly deploymentSlot: Slot;
  /** Bindings every runtime script gets (queue producer, Durable Object, Hyperdrive, settings). */
  readonly bindings: readonly WorkersScriptBindings[];
}

/**
 * The API and webhook runtime as two Worker scripts, `<prefix>-runtime-blue` and `-green`, with
 * blue-green by route switch: `<prefix>.<zone>/*` routes to the active slot's script, and each slot
 * keeps its own hostname (`<prefix>-blue.<zone>`). The deploying slot's script is uploaded with the
 * current bundle; the other ignores content changes, so it keeps serving what it was deployed with.
 * Switching `activeSlot` changes only the main route's script. Worker routes match http:// too, so
 * the zone's Always Use HTTPS setting answers plain HTTP with a redirect before any Worker runs.
 */
export class CloudflareRuntime extends Construct {
  readonly scripts: Readonly<Record<Slot, WorkersScript>>;
  /** The route of the main hostname: the switch. */
  readonly activeRoute: WorkersRoute;
  /** Zone-wide redirect of plain HTTP to HTTPS (Cloudflare has no per-route switch for it). */
  readonly alwaysUseHttps: ZoneSetting;
  /** Main hostname, e.g. `data-sync-prod.example.com`. */
  readonly hostname: string;
  /** URL of the main hostname (the active slot). */
  readonly url: string;
  /** URL of each slot's own hostname. */
  readonly slotUrls: Readonly<Record<Slot, string>>;

  constructor(scope: Construct, id: string, props: CloudflareRuntimeProps) {
    super(scope, id);
    this.hostname = `${props.prefix}.${props.zoneName}`;
    // `value` is a dynamic attribute: the provider takes the setting's own JSON value, here the string "on".
    this.alwaysUseHttps = new ZoneSetting(this, 'always-use-https', {
      zoneId: props.zoneId,
      settingId: 'always_use_https',
      value: 'on' as unknown as Record<string, string>,
    });
    const host = (name: string, hostname: string) =>
      // Worker routes need a proxied DNS record; 100:: is the documented originless placeholder.
      new DnsRecord(this, `dns-${name}`, {
        zoneId: props.zoneId,
        name: hostname,
        type: 'AAAA',
        content: '100::',
        proxied: true,
        ttl: 1,
        comment: `Worker route for ${props.prefix}`,
      });
    host('main', this.hostname);
    const scripts = {} as Record<Slot, WorkersScript>;
    const slotUrls = {} as Record<Slot, string>;
    for (const slot of SLOTS) {
      scripts[slot] = new WorkersScript(this, slot, {
        accountId: props.accountId,
        scriptName: `${props.prefix}-runtime-${slot}`,
        ...workerModule(),
        ...WORKER_COMPATIBILITY,
        bindings: [
          ...props.bindings,
          { type: 'plain_text', name: 'DATA_SYNC_SLOT', text: slot },
          { type: 'plain_text', name: 'DATA_SYNC_VERSION', text: props.versions[slot] },
        ],
        // Secrets are set out of band (Workers secrets API); Terraform keeps them on every upload.
        keepBindings: ['secret_text'],
        observability: { enabled: true, headSamplingRate: 1 },
        lifecycle: slot === props.deploymentSlot ? undefined : KEEP_DEPLOYED_CODE,
      });
      const slotHost = `${props.prefix}-${slot}.${props.zoneName}`;
      host(slot, slotHost);
      new WorkersRoute(this, `route-${slot}`, {
        zoneId: props.zoneId,
        pattern: `${slotHost}/*`,
        script: scripts[slot].scriptName,
      });
      slotUrls[slot] = `https://${slotHost}`;
    }
    this.scripts = scripts;
    this.activeRoute = new WorkersRoute(this, 'route-active', {
      zoneId: props.zoneId,
      pattern: `${this.hostname}/*`,
      script: scripts[props.activeSlot].scriptName,
    });
    this.url = `https://${this.hostname}`;
    this.slotUrls = slotUrls;
  }
}

/** The Durable Object class (exported by the bundle) that holds per-integration rate-limit state. */
export const RATE_LIMITER_CLASS = 'RateLimiter';

export interface CloudflareRateLimitStateProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
}

/**
 * The script that owns the RateLimiter Durable Object namespace (SQLite-backed, one object per
 * integration). It is separate from the slot scripts so blue, green and the consumer share one
 * rate-limit state per integration; they bind the class by this script's name.
 */
export class CloudflareRateLimitState extends Construct {
  readonly script: WorkersScript;

  constructor(scope: Construct, id: string, props: CloudflareRateLimitStateProps) {
    super(scope, id);
    this.script = new WorkersScript(this, 'script', {
      accountId: props.accountId,
      scriptName: `${props.prefix}-state`,
      ...workerModule(),
      ...WORKER_COMPATIBILITY,
      bindings: [{ type: 'durable_object_namespace', name: 'RATE_LIMITER', className: RATE_LIMITER_CLASS }],
      migrations: { newTag: 'v1', newSqliteClasses: [RATE_LIMITER_CLASS] },
      keepBindings: ['secret_text'],
    });
  }

  /** The binding other scripts use to reach the namespace. */
  binding(): WorkersScriptBindings {
    return {
      type: 'durable_object_namespace',
      name: 'RATE_LIMITER',
      className: RATE_LIMITER_CLASS,
      scriptName: this.script.scriptName,
    };
  }
}
