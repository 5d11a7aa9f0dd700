import { buildApp } from './app';
import { ContextError } from '@data-sync/config';

try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  console.error(`error: ${error.message}`);
  process.exit(1);
}
