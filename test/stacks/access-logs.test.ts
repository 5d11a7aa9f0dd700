import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { SECURITY_CHECKS } from '../support/policies/security';
import { type TerraformJson, resourcesOf, synthJson } from '../support/terraform-checks';

/**
 * Access and flow logs on the synthesized stacks: AWS's load balancer and CloudFront distributions write
 * access logs to a private, encrypted, expiring bucket only the log delivery may write; OCI's subnets write
 * VCN flow logs. The security table's logging checks then find nothing on any stack.
 */
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-logs-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));
let stacks: Array<{ id: string; cloud: string; retention: number; json: TerraformJson }> = [];
beforeAll(() => {
  stacks = buildApp({ context: {}, outdir }).stacks.map((stack) => ({
    id: stack.node.id,
    cloud: stack.settings.cloud,
    retention: stack.settings.env.logRetentionDays,
    json: synthJson(stack),
  }));
});
const of = (cloud: string) => stacks.filter((s) => s.cloud === cloud);
const bucketRef = /^\$\{aws_s3_bucket\.[^.]+\.(bucket|bucket_domain_name)\}$/;

test('AWS: the load balancer and every distribution write access logs into the access log bucket', () => {
  expect(of('aws')).toHaveLength(3);
  for (const { id, json } of of('aws')) {
    const lbs = resourcesOf(json, 'aws_lb');
    expect(lbs.length).toBeGreaterThan(0);
    for (const [, lb] of lbs)
      expect([id, lb.access_logs]).toEqual([
        id,
        { bucket: expect.stringMatching(bucketRef), prefix: 'alb', enabled: true },
      ]);
    const distributions = resourcesOf(json, 'aws_cloudfront_distribution');
    expect(distributions).toHaveLength(3);
    for (const [, distribution] of distributions)
      expect([id, distribution.logging_config]).toEqual([
        id,
        expect.objectContaining({ bucket: expect.stringMatching(bucketRef), include_cookies: false }),
      ]);
  }
});

test('AWS: the access log bucket is private, encrypted, expires with the log retention and admits only log delivery', () => {
  for (const { id, json, retention } of of('aws')) {
    const [[bucketName]] = resourcesOf(json, 'aws_s3_bucket');
    const onBucket = (type: string) =>
      resourcesOf(json, type).filter(([, body]) => String(body.bucket).includes(`aws_s3_bucket.${bucketName}.`));
    expect([id, onBucket('aws_s3_bucket_public_access_block').map(([, b]) => b)]).toEqual([
      id,
      [
        expect.objectContaining({
          block_public_acls: true,
          block_public_policy: true,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
      ],
    ]);
    expect(JSON.stringify(onBucket('aws_s3_bucket_server_side_encryption_configuration'))).toContain(
      '"sse_algorithm":"AES256"',
    );
    expect(JSON.stringify(onBucket('aws_s3_bucket_lifecycle_configuration'))).toContain(`"days":${retention}`);
    const [[, policy]] = onBucket('aws_s3_bucket_policy');
    const statements = JSON.parse(String(policy.policy)).Statement as Array<Record<string, unknown>>;
    expect(statements.filter((s) => s.Effect === 'Allow')).toEqual([
      expect.objectContaining({
        Principal: { AWS: expect.stringMatching(/^\$\{data\.aws_elb_service_account\.\S+\.arn\}$/) },
        Action: 's3:PutObject',
        Resource: expect.stringMatching(/\/alb\/AWSLogs\//),
      }),
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  }
});

test('OCI: every subnet writes VCN flow logs (service flowlogs, every flow)', () => {
  expect(of('oci')).toHaveLength(3);
  for (const { id, json } of of('oci')) {
    const flowLogs = resourcesOf(json, 'oci_logging_log')
      .map(([, body]) => (body.configuration as { source: Record<string, string> } | undefined)?.source)
      .filter((source) => source?.service === 'flowlogs');
    const subnets = resourcesOf(json, 'oci_core_subnet').map(([name]) => `\${oci_core_subnet.${name}.id}`);
    expect(subnets.length).toBeGreaterThan(0);
    expect([id, flowLogs.map((s) => s!.resource).sort()]).toEqual([id, subnets.sort()]);
    expect(flowLogs.every((s) => s!.category === 'all')).toBe(true);
  }
});

test('the logging checks of the security table find nothing on any stack', () => {
  const checks = SECURITY_CHECKS.filter((c) =>
    ['logging/vpc-flow-logs', 'logging/load-balancer-access-logs'].includes(c.id),
  );
  expect(checks).toHaveLength(2);
  for (const check of checks)
    for (const { id, json } of stacks.filter((s) => check.clouds.includes(s.cloud as never)))
      expect([check.id, id, check.check(json)]).toEqual([check.id, id, []]);
});
