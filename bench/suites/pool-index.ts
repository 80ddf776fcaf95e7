/** Suites that measure the TaskManager against raw piscina. */
import type { Suite } from '../types.js';
import { poolSuite } from './pool.js';

export const POOL_SUITES: readonly Suite[] = [poolSuite];
