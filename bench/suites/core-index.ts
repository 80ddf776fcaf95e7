/** Suites that measure the arena itself (no TaskManager), in the order a full run executes them. */
import type { Suite } from '../types.js';
import { allocSuite } from './alloc.js';
import { scalingSuite } from './scaling.js';
import { scrubSuite } from './scrub.js';
import { sizeSweepSuite } from './size-sweep.js';
import { wakeSuite } from './wake.js';

export const CORE_SUITES: readonly Suite[] = [allocSuite, scalingSuite, wakeSuite, scrubSuite, sizeSweepSuite];
