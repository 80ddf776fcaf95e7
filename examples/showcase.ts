/**
 * `npm start`: the showcase job, a parallel external sort on segment-arena (examples/sort/).
 *
 *   npm start                                   256 MiB, the default
 *   npm start -- --size 64MiB --seed 7          smaller, another data set
 *   npx tsx examples/showcase.ts --help         every flag
 *
 * The sort tasks run in worker threads as built JavaScript (dist/examples/sort/sort-task.js):
 * `npm start` builds first.
 */
import { main } from './sort/cli.js';

process.exitCode = await main(process.argv.slice(2));
