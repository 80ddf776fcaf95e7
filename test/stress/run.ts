/**
 * `npm run stress [-- --minutes N] [--seed S] [--quick] [--soak]`
 *
 *   --minutes N   run rounds for N minutes (default 5; fractions allowed)
 *   --seed S      master seed (default: random, printed; rerun with it to get the same mix)
 *   --quick       small rounds, a few of them, every death in every round (what CI runs)
 *   --soak        print a status line (RSS, arena usage) every 30 s and judge at the end whether
 *                 RSS and the arena stayed flat (test/stress/report.ts defines "flat")
 *   --every S     soak line period in seconds (default 30)
 *   --samples F   write the quiescent samples (after each round) to F as CSV
 *
 * Exit code 0 when there was no violation (and, with --soak, the verdict is FLAT), 1 otherwise.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FULL, QUICK, type StressConfig } from './config.js';
import { runStress } from './driver.js';
import { soakVerdict, summaryTable } from './report.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    every: { type: 'string' },
    samples: { type: 'string' },
  },
});

const minutes = values.minutes === undefined ? (values.quick ? 0 : 5) : Number(values.minutes);
if (!(minutes >= 0)) throw new Error(`--minutes must be a number >= 0 (got ${values.minutes})`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed) >>> 0;
const every = values.every === undefined ? 30 : Number(values.every);
const base = values.quick ? QUICK : FULL;
const config: StressConfig = {
  ...base,
  seed,
  durationMs: minutes * 60_000,
  soakEveryMs: values.soak ? every * 1000 : 0,
  // A soak asks whether ONE long-lived TaskManager and arena stay flat: no epochs.
  ...(values.soak ? { profiles: base.profiles.slice(0, 1), roundsPerEpoch: Infinity } : {}),
};

console.log(`segment-arena stress: seed ${seed}, ${values.quick ? 'quick' : `${minutes} min`}${values.soak ? ', soak' : ''}; ` +
  `arenas ${config.profiles.map((p) => `${p.name} ${p.arena.size} (max ${p.arena.maxSize}) of ${p.arena.segmentSize}-byte segments`).join(', ')}, ` +
  `${config.slots} slots x ${config.concurrentTasksPerSlot}, slotHeap ${config.slotHeap}, abortGrace ${config.abortGrace} ms, ${config.tasksPerRound} tasks/round`);
/** V8's gc(), without --expose-gc on the command line (the soak measures the heap after a full GC). */
function exposeGc(): (() => void) | undefined {
  setFlagsFromString('--expose_gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? (gc as () => void) : undefined;
}

const gc = values.soak ? exposeGc() : undefined;
const summary = await runStress(config, {
  log: (line) => {
    if (!values.soak) console.log(line);
  },
  soakLine: (line) => console.log(line),
  ...(gc === undefined ? {} : { gc }),
});
if (values.samples !== undefined) {
  const rows = summary.quiescent.map((q) => [q.atMs, q.rss, q.heapUsed, q.allocated, q.cached, q.total].join(','));
  writeFileSync(values.samples, ['at_ms,rss,heap_used,allocated,cached,total', ...rows].join('\n') + '\n');
}
console.log(summaryTable(summary));
let ok = summary.violations.length === 0;
if (values.soak) {
  const verdict = soakVerdict(summary);
  for (const line of verdict.lines) console.log(`soak ${line}`);
  ok &&= verdict.flat;
}
console.log(ok ? 'OK' : 'FAILED');
process.exitCode = ok ? 0 : 1;
