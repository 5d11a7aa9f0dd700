import * as path from 'path';
import { buildCloudflareWorker } from '@data-sync/sync-runtime/src/cloudflare/build';

const { bundleNodeEntries } = require('../scripts/build-runtime') as {
  bundleNodeEntries(o: {
    outdir: string;
    write: boolean;
  }): Promise<{ metafile: { outputs: Record<string, { inputs: Record<string, unknown> }> } }>;
};

/** Demo-only sources: the vendor fakes, the demo starters, and the API tests' connector. */
const DEMO_ONLY =
  /^(test\/fakes\/|integrations\/demo\.ts$|integrations\/marketing\/demo\.ts$|services\/sync-runtime\/src\/demo\.ts$|services\/sync-runtime\/src\/api\/testing\/)/;

describe('production bundles', () => {
  test('every Node bundle has the runtime without the vendor fakes or the demo modules', async () => {
    const { metafile } = await bundleNodeEntries({
      outdir: path.join(__dirname, '..', 'dist', 'bundle-check'),
      write: false,
    });
    const outputs = Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.js'));
    expect(outputs.map(([file]) => path.basename(file)).sort()).toEqual([
      'aws.js',
      'azure.js',
      'gcp.js',
      'ibm.js',
      'lambda.js',
      'main.js',
      'oci.js',
    ]);
    for (const [file, { inputs }] of outputs) {
      const files = Object.keys(inputs);
      // The runtime itself is there: the check reads the real inputs, not an empty list.
      expect(files).toEqual(
        expect.arrayContaining(['services/sync-runtime/src/runtime/assemble.ts', 'integrations/registry.ts']),
      );
      expect({ file, demoOnly: files.filter((f) => DEMO_ONLY.test(f)) }).toEqual({ file, demoOnly: [] });
    }
  }, 120000);

  test('the Cloudflare Worker bundles the runtime without the vendor fakes or the demo modules', async () => {
    const { inputs } = await buildCloudflareWorker({ write: false });
    expect(inputs).toEqual(
      expect.arrayContaining([
        'services/sync-runtime/src/runtime/assemble.ts',
        'services/sync-runtime/src/cloudflare/worker.ts',
      ]),
    );
    expect(inputs.filter((f) => DEMO_ONLY.test(f))).toEqual([]);
  }, 120000);
});

describe('per-cloud bundles', () => {
  const { ENTRIES, limitOf } = require('../scripts/build-runtime') as {
    ENTRIES: Record<string, string>;
    limitOf(entry: string): number;
  };
  /** The queue SDKs, and the bundles that may carry each (the ones whose cloud selects it). */
  const SDKS: Record<string, RegExp> = {
    sqs: /node_modules\/@aws-sdk\/client-sqs\//,
    pubsub: /node_modules\/@google-cloud\/pubsub\//,
    servicebus: /node_modules\/@azure\/service-bus\//,
    bullmq: /node_modules\/bullmq\//,
  };
  const CARRIES: Record<string, string[]> = {
    main: ['bullmq'],
    aws: ['sqs'],
    gcp: [],
    azure: ['servicebus'],
    oci: [],
    ibm: [],
    lambda: ['sqs'],
  };

  test('each bundle carries only the queue SDKs its deployment can select, within its size budget', async () => {
    const { metafile } = await bundleNodeEntries({
      outdir: path.join(__dirname, '..', 'dist', 'bundle-check'),
      write: false,
    });
    const outputs = metafile.outputs as Record<string, { bytes: number; inputs: Record<string, unknown> }>;
    expect(Object.keys(CARRIES).sort()).toEqual(Object.keys(ENTRIES).sort());
    for (const [file, { bytes, inputs }] of Object.entries(outputs).filter(([f]) => f.endsWith('.js'))) {
      const entry = path.basename(file, '.js');
      const carried = Object.keys(SDKS).filter((sdk) => Object.keys(inputs).some((f) => SDKS[sdk].test(f)));
      expect({ entry, carried }).toEqual({ entry, carried: CARRIES[entry] });
      expect({ entry, withinBudget: bytes <= limitOf(entry) }).toEqual({ entry, withinBudget: true });
    }
  }, 120000);
});
