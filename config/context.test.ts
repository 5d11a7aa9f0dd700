import { ContextError, envVarName, parseContext, readRawContext, resolveSettings } from '.';

describe('context validation', () => {
  test('defaults: every environment and cloud, blue active and deploying', () => {
    const ctx = parseContext({});
    expect(ctx.environments).toEqual(['dev', 'staging', 'prod']);
    expect(ctx.clouds).toEqual(['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm']);
    expect(ctx.activeSlot).toBe('blue');
    expect(ctx.deploymentSlot).toBe('blue');
  });

  test.each([
    [{ activeSlot: 'purple' }, 'Invalid context value activeSlot="purple": allowed values are blue, green'],
    [{ deploymentSlot: 'red' }, 'Invalid context value deploymentSlot="red": allowed values are blue, green'],
    [{ environment: 'qa' }, 'Invalid context value environment="qa": allowed values are dev, staging, prod'],
    [
      { clouds: 'aws,moon' },
      'Invalid context value clouds="moon": allowed values are aws, gcp, azure, cloudflare, oci, ibm',
    ],
    [{ enableCrmSync: 'yes' }, 'Invalid context value enableCrmSync="yes": allowed values are true, false'],
    [{ imageTag: 'bad tag!' }, 'Invalid context value imageTag="bad tag!"'],
  ])('%j fails naming the key and the allowed values', (raw, message) => {
    expect(() => parseContext(raw)).toThrow(ContextError);
    expect(() => parseContext(raw)).toThrow(message);
  });

  test('an unknown key fails and lists the allowed keys', () => {
    expect(() => parseContext({ activeSlt: 'green' })).toThrow(
      /Unknown context key "activeSlt": allowed keys are environment, clouds, deploymentSlot, activeSlot/,
    );
  });

  test("cdktf's own context keys are not the user's and pass through", () => {
    expect(() => parseContext({ cdktfRelativeModules: [], excludeStackIdFromLogicalIds: 'true' })).not.toThrow();
  });

  test('-c pairs (CDKTF_CONTEXT_JSON) win over DATA_SYNC_* variables', () => {
    const raw = readRawContext({
      DATA_SYNC_ACTIVE_SLOT: 'green',
      DATA_SYNC_ENABLE_ERP_SYNC: 'true',
      CDKTF_CONTEXT_JSON: '{"activeSlot":"blue"}',
    });
    expect(raw).toEqual({ activeSlot: 'blue', enableErpSync: 'true' });
    expect(envVarName('enableN8nWorkflows')).toBe('DATA_SYNC_ENABLE_N8N_WORKFLOWS');
  });

  test('malformed CDKTF_CONTEXT_JSON is a clear error', () => {
    expect(() => readRawContext({ CDKTF_CONTEXT_JSON: '{oops' })).toThrow('CDKTF_CONTEXT_JSON is not valid JSON');
    expect(() => readRawContext({ CDKTF_CONTEXT_JSON: '[1]' })).toThrow('CDKTF_CONTEXT_JSON must be a JSON object');
  });
});

describe('stack settings', () => {
  test('the design values hold in every environment', () => {
    for (const environment of ['dev', 'staging', 'prod'] as const) {
      const { env } = resolveSettings('aws', environment, parseContext({}));
      expect([env.serviceName, env.instanceCount, env.cpuUnits, env.memoryMb]).toEqual([
        'data-sync-service',
        2,
        1024,
        2048,
      ]);
    }
  });

  test('dev is limited and keeps production APIs off; prod runs every integration family', () => {
    const dev = resolveSettings('aws', 'dev', parseContext({}));
    expect(dev.features.enableProductionApis).toBe(false);
    expect(dev.integrations.map((i) => i.name)).toEqual(['salesforce', 'hubspot', 'mailchimp']);
    const prod = resolveSettings('aws', 'prod', parseContext({}));
    expect(Object.values(prod.features).every(Boolean)).toBe(true);
    expect(prod.env.database.multiAz).toBe(true);
  });

  test('a flag from context overrides the environment default', () => {
    const s = resolveSettings('aws', 'prod', parseContext({ enableCrmSync: 'false' }));
    expect(s.integrations.map((i) => i.name)).toEqual([
      'sap',
      'netsuite',
      'dynamics',
      'mailchimp',
      'google_analytics',
      'mixpanel',
      'amplitude',
      'facebook',
      'instagram',
      'x',
      'linkedin',
    ]);
  });

  test('deploymentSlot receives imageTag and the other slot keeps stableImageTag', () => {
    const s = resolveSettings(
      'aws',
      'prod',
      parseContext({ deploymentSlot: 'green', imageTag: '2.0.0', stableImageTag: '1.4.0' }),
    );
    expect(s.imageTags).toEqual({ green: '2.0.0', blue: '1.4.0' });
    expect(s.stackName).toBe('data-sync-aws-prod');
  });

  test('a state bucket switches the backend to S3 with a lock table per stack key', () => {
    const s = resolveSettings('gcp', 'staging', parseContext({ stateBucket: 'acme-tf-state' }));
    expect(s.backend).toEqual({
      type: 's3',
      bucket: 'acme-tf-state',
      region: 'us-east-1',
      keyPrefix: 'data-sync/gcp/staging',
      lockTable: 'data-sync-terraform-locks',
    });
  });
});
