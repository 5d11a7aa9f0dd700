/**
 * Typed wrappers over cdktf's generic TerraformResource / TerraformDataSource / TerraformProvider,
 * for providers without a prebuilt cdktf package (OCI, IBM Cloud, Sysdig for IBM Cloud Monitoring).
 * Config interfaces use the providers' own snake_case argument names, so what is typed here is
 * exactly what lands in the Terraform JSON; exported attributes are a typed union per resource.
 */
import type { Construct } from 'constructs';
import {
  TerraformDataSource,
  type TerraformMetaArguments,
  TerraformProvider,
  TerraformResource,
  TerraformStack,
} from 'cdktf';

/** Which provider a resource type belongs to: local name, registry source and version constraint. */
export interface ProviderSpec {
  /** Local name in required_providers, e.g. `oci`. */
  readonly name: string;
  /** Registry source, e.g. `oracle/oci`. */
  readonly source: string;
  /** Version constraint, e.g. `~> 7.0`. */
  readonly version: string;
}

/** A provider block with the spec's source and version written into required_providers. */
export class GenericProvider<Config extends object> extends TerraformProvider {
  constructor(
    scope: Construct,
    id: string,
    spec: ProviderSpec,
    private readonly config: Config,
  ) {
    super(scope, id, {
      terraformResourceType: spec.name,
      terraformProviderSource: spec.source,
      terraformGeneratorMetadata: { providerName: spec.name, providerVersionConstraint: spec.version },
    });
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { ...this.config } as Record<string, unknown>;
  }
}

/** Meta-arguments a wrapped resource accepts (depends_on, lifecycle, ...). */
export type Meta = Omit<TerraformMetaArguments, 'forEach' | 'count' | 'provisioners' | 'connection'>;

/** Constructor of a typed resource: `new Type(scope, id, config, meta?)`. */
export interface TypedResourceClass<Config extends object, Attr extends string> {
  new (scope: Construct, id: string, config: Config, meta?: Meta): TypedResource<Config, Attr>;
  /** The Terraform resource type, e.g. `oci_kms_key`. */
  readonly resourceType: string;
}

/** A resource whose arguments are `Config` and whose exported attributes are `Attr` (plus `id`). */
export class TypedResource<Config extends object, Attr extends string> extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    type: string,
    spec: ProviderSpec,
    readonly config: Config,
    meta: Meta = {},
  ) {
    super(scope, id, {
      terraformResourceType: type,
      terraformGeneratorMetadata: { providerName: spec.name, providerVersionConstraint: spec.version },
      ...meta,
    });
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { ...this.config } as Record<string, unknown>;
  }

  /** Reference to an exported attribute, `${<type>.<name>.<attribute>}`. */
  attr(attribute: Attr | 'id'): string {
    return this.getStringAttribute(attribute);
  }

  get id(): string {
    return this.getStringAttribute('id');
  }
}

/** Declares a typed resource class for one Terraform resource type of a provider. */
export function resourceType<Config extends object, Attr extends string = never>(
  spec: ProviderSpec,
  type: string,
): TypedResourceClass<Config, Attr> {
  return class extends TypedResource<Config, Attr> {
    static readonly resourceType = type;
    constructor(scope: Construct, id: string, config: Config, meta?: Meta) {
      super(scope, id, type, spec, config, meta);
    }
  };
}

/** A data source whose arguments are `Config` and whose exported attributes are `Attr`. */
export class TypedDataSource<Config extends object, Attr extends string> extends TerraformDataSource {
  constructor(
    scope: Construct,
    id: string,
    type: string,
    spec: ProviderSpec,
    private readonly config: Config,
  ) {
    super(scope, id, {
      terraformResourceType: type,
      terraformGeneratorMetadata: { providerName: spec.name, providerVersionConstraint: spec.version },
    });
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { ...this.config } as Record<string, unknown>;
  }

  /** Reference to an exported attribute, `${data.<type>.<name>.<attribute>}`. */
  attr(attribute: Attr | 'id'): string {
    return this.getStringAttribute(attribute);
  }
}

/** Declares a typed data source class for one Terraform data source type of a provider. */
export function dataSourceType<Config extends object, Attr extends string>(spec: ProviderSpec, type: string) {
  return class extends TypedDataSource<Config, Attr> {
    static readonly dataSourceType = type;
    constructor(scope: Construct, id: string, config: Config) {
      super(scope, id, type, spec, config);
    }
  };
}

/** `<type>.<logical id>` of a resource, as it appears in the synthesized JSON (what provide() records). */
export function addressOf(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${TerraformStack.of(resource).getLogicalId(resource)}`;
}
