import type { Construct } from 'constructs';
import type { Cloud, StackSettings } from '../config';
import type { DataSyncStack } from './data-sync-stack';

export type StackFactory = (scope: Construct, settings: StackSettings) => DataSyncStack;

/** One composition per cloud; a cloud without an entry cannot be synthesized yet. */
export const STACK_FACTORIES: Partial<Record<Cloud, StackFactory>> = {};
