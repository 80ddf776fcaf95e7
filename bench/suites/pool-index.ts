/** Suites that measure the TaskManager against raw piscina (shared helpers: pool.ts). */
import type { Suite } from '../types.js';
import { dispatchSuite } from './dispatch.js';
import { handoffSuite } from './handoff.js';
import { parallelSumSuite } from './parallel-sum.js';

export const POOL_SUITES: readonly Suite[] = [dispatchSuite, handoffSuite, parallelSumSuite];
