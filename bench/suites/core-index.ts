/** Suites that measure the arena itself (no TaskManager). */
import type { Suite } from '../types.js';
import { coreSuite } from './core.js';

export const CORE_SUITES: readonly Suite[] = [coreSuite];
