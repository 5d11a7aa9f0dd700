/**
 * AWS stops letting anyone create, then update, functions on a Node.js runtime after its deprecation
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html, "Block function update"), and a stack
 * on such a runtime fails `cdktf deploy`. The synthesized Lambda must be on a runtime still updatable a
 * quarter from now: this test fails ahead of that day, which is when RUNTIME_NODE_MAJOR moves on.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LAMBDA_NODE_RUNTIME } from '@data-sync/config';
import { buildApp } from '../../app';
import { resourcesOf, synthJson } from '../support/terraform-checks';

/** Lambda's published "block function update" dates of the Node.js runtimes. */
const BLOCK_FUNCTION_UPDATE: Readonly<Record<string, string>> = {
  'nodejs20.x': '2026-09-30',
  'nodejs22.x': '2027-07-01',
  'nodejs24.x': '2028-07-01',
};
/** A quarter's notice: the switch needs a release and a deploy of every environment. */
const NOTICE_DAYS = 90;

test('the Lambda worker runs on a Node.js runtime that AWS still lets stacks update 90 days from now', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-runtime-'));
  try {
    const { stacks } = buildApp({ context: { clouds: 'aws', environment: 'prod' }, outdir });
    const runtimes = resourcesOf(synthJson(stacks[0]), 'aws_lambda_function').map(([, f]) => f.runtime);
    expect(runtimes).toEqual([LAMBDA_NODE_RUNTIME]);
    const notice = new Date(Date.now() + NOTICE_DAYS * 86_400_000).toISOString().slice(0, 10);
    expect({
      runtime: LAMBDA_NODE_RUNTIME,
      updatable: (BLOCK_FUNCTION_UPDATE[LAMBDA_NODE_RUNTIME] ?? '') > notice,
    }).toEqual({ runtime: LAMBDA_NODE_RUNTIME, updatable: true });
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});
