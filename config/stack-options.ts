import { contextItems } from './context-items';
/**
 * Deployment details per cloud from context: region, an existing network, a custom domain and its
 * certificate. Validated here like every other key; the stack factory hands them to each stack.
 */

/** Context key -> what it accepts (merged into CONTEXT_KEYS, shown in error messages). */
export const STACK_OPTION_KEYS = {
  awsRegion: 'AWS region, e.g. eu-west-1 (default: us-east-1)',
  awsVpcId: 'existing VPC id (vpc-...) to deploy into; needs awsPrivateSubnetIds (default: a new VPC)',
  awsPrivateSubnetIds:
    'comma-separated private subnet ids (subnet-...) of awsVpcId with egress, two or more in different AZs (internal load balancer, tasks, Lambda, database)',
  awsDomainName:
    "custom API hostname served by CloudFront; needs awsCertificateArn and one environment (default: the distribution's *.cloudfront.net name)",
  awsCertificateArn: 'ACM certificate ARN in us-east-1 (CloudFront only uses that region) covering awsDomainName',
  gcpRegion: 'default of the gcp_region variable, e.g. europe-west1 (default: us-central1)',
  azureRegion: 'default of the azure_location variable, e.g. northeurope (default: westeurope)',
  ociRegion: 'OCI region, e.g. eu-frankfurt-1 (default: us-ashburn-1)',
  ociDomainName:
    "custom API hostname of the API gateway; needs ociCertificateId and one environment (default: the gateway's own hostname)",
  ociCertificateId: 'OCI Certificates service certificate OCID (ocid1.certificate...) covering ociDomainName',
  ibmRegion: 'IBM Cloud region, e.g. eu-de (default: us-south)',
  ibmDomainName:
    "custom API hostname mapped to the active app; needs ibmTlsSecret and one environment (default: none, each app's own HTTPS endpoint)",
  ibmTlsSecret: 'Code Engine TLS secret (created out of band) holding the certificate of ibmDomainName',
} as const;

export type StackOptionKey = keyof typeof STACK_OPTION_KEYS;

/** A network the stacks do not create. */
export interface ExistingVpcOption {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
}

/** A hostname with the certificate that serves it (a reference to it: never key material). */
export interface CustomDomainOption {
  readonly domainName: string;
  /** ACM ARN (AWS), certificate OCID (OCI) or Code Engine TLS secret name (IBM). */
  readonly certificate: string;
}

/** Validated per-cloud options; a field is absent where the user did not set it. */
export interface StackOptionsContext {
  readonly aws: {
    readonly region?: string;
    readonly existingVpc?: ExistingVpcOption;
    readonly customDomain?: CustomDomainOption;
  };
  readonly gcp: { readonly region?: string };
  readonly azure: { readonly region?: string };
  readonly oci: { readonly region?: string; readonly customDomain?: CustomDomainOption };
  readonly ibm: { readonly region?: string; readonly customDomain?: CustomDomainOption };
}

type Fail = (key: string, value: unknown, expected: string) => never;

const PATTERNS = {
  awsRegion: [/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1'],
  gcpRegion: [/^[a-z]+-[a-z]+\d$/, 'a GCP region such as europe-west1'],
  azureRegion: [/^[a-z]+[a-z0-9]*$/, 'an Azure region name such as northeurope'],
  ociRegion: [/^[a-z]{2}-[a-z]+-\d$/, 'an OCI region such as eu-frankfurt-1'],
  ibmRegion: [/^[a-z]{2}-[a-z]{2,5}$/, 'an IBM Cloud region such as eu-de'],
  awsVpcId: [/^vpc-[0-9a-f]{8,17}$/, 'a VPC id (vpc- and 8 or 17 hex digits)'],
  awsCertificateArn: [
    /^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/,
    'an ACM certificate ARN in us-east-1 (CloudFront reads certificates from that region only)',
  ],
  ociCertificateId: [
    /^ocid1\.certificate\.oc\d+\.[a-z0-9-]*\.[a-z0-9]+$/,
    'a certificate OCID (ocid1.certificate.oc1..)',
  ],
  ibmTlsSecret: [/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'a Code Engine secret name'],
} as const satisfies Partial<Record<StackOptionKey, readonly [RegExp, string]>>;

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;

/** Parses the stack option keys of `raw`; `environments` is how many environments the context selects. */
export function parseStackOptions(raw: Record<string, unknown>, environments: number, fail: Fail): StackOptionsContext {
  const text = (key: keyof typeof PATTERNS): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    const [pattern, expected] = PATTERNS[key];
    if (typeof value === 'string' && pattern.test(value)) return value;
    return fail(key, value, `expected ${expected}`);
  };
  const subnets = (key: 'awsPrivateSubnetIds'): string[] => {
    const value = raw[key];
    const items = contextItems(value);
    if (
      items.length < 2 ||
      !items.every((id) => typeof id === 'string' && SUBNET.test(id)) ||
      new Set(items).size !== items.length
    ) {
      return fail(
        key,
        value,
        'expected two or more distinct subnet ids (subnet-...), comma-separated, in different availability zones',
      );
    }
    return items as string[];
  };
  const domain = (
    domainKey: StackOptionKey,
    certificateKey: 'awsCertificateArn' | 'ociCertificateId' | 'ibmTlsSecret',
  ): CustomDomainOption | undefined => {
    const domainName = raw[domainKey];
    const certificate = text(certificateKey);
    if (domainName === undefined && certificate === undefined) return undefined;
    if (domainName === undefined)
      return fail(certificateKey, raw[certificateKey], `set ${domainKey} too: the certificate serves that hostname`);
    if (typeof domainName !== 'string' || !HOSTNAME.test(domainName))
      return fail(domainKey, domainName, 'expected a lower-case hostname such as api.example.com');
    if (certificate === undefined)
      return fail(domainKey, domainName, `set ${certificateKey} too: HTTPS on a custom hostname needs its certificate`);
    if (environments !== 1)
      return fail(domainKey, domainName, "set environment too: a hostname belongs to one environment's stack");
    return { domainName, certificate };
  };
  const vpcId = text('awsVpcId');
  if (vpcId === undefined && raw.awsPrivateSubnetIds !== undefined)
    fail('awsPrivateSubnetIds', raw.awsPrivateSubnetIds, 'set awsVpcId too: the subnets belong to an existing VPC');
  const defined = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    aws: defined({
      region: text('awsRegion'),
      existingVpc: vpcId === undefined ? undefined : { vpcId, privateSubnetIds: subnets('awsPrivateSubnetIds') },
      customDomain: domain('awsDomainName', 'awsCertificateArn'),
    }),
    gcp: defined({ region: text('gcpRegion') }),
    azure: defined({ region: text('azureRegion') }),
    oci: defined({ region: text('ociRegion'), customDomain: domain('ociDomainName', 'ociCertificateId') }),
    ibm: defined({ region: text('ibmRegion'), customDomain: domain('ibmDomainName', 'ibmTlsSecret') }),
  };
}
