/**
 * What Lambda itself refuses at deploy time, checked on the synthesized worker. AWS stops letting anyone
 * create, then update, functions on a Node.js runtime after its deprecation
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html, "Block function update"): the Lambda
 * must be on a runtime still updatable a quarter from now, so this fails ahead of that day, which is when
 * RUNTIME_NODE_MAJOR moves on. And a function's environment may hold 4 KB in all (keys and values).
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

function synthesizedWorker(environment: string): {
  runtime: string;
  environment?: { variables: Record<string, string> };
} {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-runtime-'));
  try {
    const { stacks } = buildApp({ context: { clouds: 'aws', environment }, outdir });
    const functions = resourcesOf(synthJson(stacks[0]), 'aws_lambda_function');
    expect(functions).toHaveLength(1);
    return functions[0][1] as never;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Longer than any ARN, URL or address a reference resolves to in this stack (a secret ARN is about 110). */
const RESOLVED_REFERENCE = 'x'.repeat(160);
const LAMBDA_ENVIRONMENT_LIMIT = 4 * 1024;

test.each(['dev', 'staging', 'prod'])(
  "%s: the Lambda worker's environment, references resolved at full length, fits Lambda's 4 KB",
  (environment) => {
    const variables = synthesizedWorker(environment).environment?.variables ?? {};
    const bytes = Object.entries(variables).reduce(
      (sum, [name, value]) =>
        sum + Buffer.byteLength(name) + Buffer.byteLength(value.replace(/\$\{[^}]+\}/g, RESOLVED_REFERENCE)),
      0,
    );
    expect({ environment, bytes, fits: bytes <= LAMBDA_ENVIRONMENT_LIMIT }).toEqual({ environment, bytes, fits: true });
  },
);

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
