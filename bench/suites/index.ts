/** Every suite `npm run bench` knows, in the order a full run executes them. */
import type { Suite } from '../types.js';
import { CORE_SUITES } from './core-index.js';
import { POOL_SUITES } from './pool-index.js';

export const SUITES: readonly Suite[] = [...CORE_SUITES, ...POOL_SUITES];
