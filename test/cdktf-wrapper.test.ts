import { spawnSync } from 'child_process';
import * as path from 'path';

const { parseArgs, mergedContextJson } = require('../scripts/cdktf.js');

test('-c key=value pairs are collected and the rest passes through to cdktf', () => {
  const parsed = parseArgs([
    'deploy',
    'data-sync-aws-prod',
    '-c',
    'activeSlot=green',
    '--context=deploymentSlot=green',
    '--auto-approve',
  ]);
  expect(parsed).toEqual({
    context: { activeSlot: 'green', deploymentSlot: 'green' },
    rest: ['deploy', 'data-sync-aws-prod', '--auto-approve'],
  });
});

test('pairs merge over CDKTF_CONTEXT_JSON instead of replacing it', () => {
  expect(
    JSON.parse(
      mergedContextJson({ activeSlot: 'green' }, { CDKTF_CONTEXT_JSON: '{"environment":"prod","activeSlot":"blue"}' }),
    ),
  ).toEqual({ environment: 'prod', activeSlot: 'green' });
});

test('a pair without = is refused with a message', () => {
  expect(() => parseArgs(['-c', 'activeSlot'])).toThrow('-c expects key=value, got "activeSlot"');
});

test('synth with a bad value exits non-zero naming the key and the allowed values', () => {
  const root = path.resolve(__dirname, '..');
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'scripts/cdktf.js'), 'synth-local', '-c', 'activeSlot=purple'],
    {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: path.join(require('os').tmpdir(), `synth-bad-${process.pid}`) },
    },
  );
  expect(result.status).toBe(1);
  expect(result.stderr.toString()).toContain(
    'Invalid context value activeSlot="purple": allowed values are blue, green',
  );
});
