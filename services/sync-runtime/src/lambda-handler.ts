/**
 * The Lambda's handler module (`lambda-handler.handler`): the worker bundle beside it, loaded with its code
 * cache (lambda-code-cache.ts). Its own size is a few hundred bytes, so it costs nothing to compile.
 */
import { loadWithCodeCache } from './lambda-code-cache';

const loaded = loadWithCodeCache(__dirname);
export const handler = loaded.exports.handler;
export const codeCache = loaded.codeCache;
