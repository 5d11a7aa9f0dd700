/**
 * The worker bundle (lambda.js) loaded with a V8 code cache made at build time, so a Lambda cold start
 * deserializes the bundle's compiled code instead of parsing and compiling 1.4 MB again. V8 accepts a cache
 * only from the same V8 build run with the same flags, and Lambda starts Node with heap flags derived from
 * the function's memory: the cache file is named after the Node version, architecture and flags it was
 * made under, and a process uses the one named after its own, else none. With DATA_SYNC_WRITE_CODE_CACHE=1
 * (the build) it writes that file after loading the bundle.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import Module from 'module';
import * as path from 'path';
import * as vm from 'vm';

/** The worker bundle this module loads, beside it in the deployment package. */
export const LAMBDA_BUNDLE = 'lambda.js';

/** Whether the bundle was compiled from its code cache. */
export type CodeCacheStatus = 'used' | 'rejected' | 'none';

/** The cache file made by `version` of Node started with `execArgv`: one per memory size the build knows. */
export function codeCacheFile(version: string, execArgv: readonly string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify([version, process.arch, ...execArgv]))
    .digest('hex');
  return `lambda.${key.slice(0, 16)}.v8cache`;
}

/** Loads `dir`/lambda.js like require would, compiled from its code cache when there is one for this process. */
export function loadWithCodeCache(dir: string): { exports: Record<string, unknown>; codeCache: CodeCacheStatus } {
  const file = path.join(dir, LAMBDA_BUNDLE);
  const cacheFile = path.join(dir, codeCacheFile(process.version, process.execArgv));
  const writing = process.env.DATA_SYNC_WRITE_CODE_CACHE === '1';
  const cachedData = !writing && fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile) : undefined;
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dir);
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dir);
  bundle.loaded = true;
  // After the bundle's top level ran, so the functions it compiled while loading are in the cache too.
  if (writing) fs.writeFileSync(cacheFile, script.createCachedData());
  const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  if (codeCache === 'rejected')
    console.warn(JSON.stringify({ level: 40, msg: 'the code cache was rejected by this V8; compiled from source' }));
  return { exports: bundle.exports as Record<string, unknown>, codeCache };
}
