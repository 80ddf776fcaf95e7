/**
 * Where the slot's built JavaScript is. Node 20 cannot start a `.ts` file as a worker, so piscina
 * always loads dist/workers/slot.js, whichever way this module itself was loaded:
 *
 *   dist/src/pool/worker-path.js  (the built package, as users import it)  → ../../workers/slot.js
 *   src/pool/worker-path.ts       (the sources, under vitest or tsx)       → ../../dist/workers/slot.js
 *
 * The second case needs `npm run build` first (`npm test` runs it as `pretest`).
 */
import { existsSync } from 'node:fs';
import { ArenaError } from '../errors.js';

const CANDIDATES = ['../../workers/slot.js', '../../dist/workers/slot.js'] as const;

let found: URL | undefined;

/** The file: URL of the built slot entry. Throws ERR_INTERNAL with advice when it is missing. */
export function slotWorkerUrl(): URL {
  if (found !== undefined) return found;
  for (const rel of CANDIDATES) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) return (found = url);
  }
  throw new ArenaError(
    'ERR_INTERNAL',
    `cannot find the built worker entry (looked for ${CANDIDATES.map((r) => new URL(r, import.meta.url).pathname).join(', ')}); ` +
      'run `npm run build`',
  );
}
