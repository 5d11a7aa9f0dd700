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
  test('main.js and lambda.js bundle the runtime without the vendor fakes or the demo modules', async () => {
    const { metafile } = await bundleNodeEntries({
      outdir: path.join(__dirname, '..', 'dist', 'bundle-check'),
      write: false,
    });
    const outputs = Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.js'));
    expect(outputs.map(([file]) => path.basename(file)).sort()).toEqual(['lambda.js', 'main.js']);
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
