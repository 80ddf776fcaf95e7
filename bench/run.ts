/**
 * Bench dispatcher: `npm run bench -- [suite ...] [--quick]` (no suite = all of them).
 *
 * `npm run bench` builds first (workers load the built library from dist/), then runs this
 * file under tsx. Each suite measures its subjects against their baselines in this same run,
 * alternating reps, and returns rows; this file only selects suites and prints their rows.
 * No timing is asserted anywhere: the exit code says whether the suites ran, not whether a
 * goal was met.
 */
import { availableParallelism, loadavg } from 'node:os';
import { SUITES } from './suites/index.js';
import { renderTable } from './table.js';

function usage(): string {
  return [
    'usage: npm run bench -- [suite ...] [--quick]',
    '  --quick   short smoke run (a few seconds per suite; rough numbers)',
    'suites:',
    ...SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.description}`),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith('-'));
  const names = argv.filter((a) => !a.startsWith('-'));
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const unknownFlags = flags.filter((f) => f !== '--quick');
  const unknownSuites = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknownFlags.length > 0 || unknownSuites.length > 0) {
    console.error(`unknown ${[...unknownFlags, ...unknownSuites].join(', ')}\n${usage()}`);
    return 2;
  }
  const quick = flags.includes('--quick');
  const selected = names.length === 0 ? SUITES : SUITES.filter((s) => names.includes(s.name));
  const log = (line: string): void => {
    process.stderr.write(`  ${line}\n`);
  };
  for (const suite of selected) {
    const load0 = loadavg()[0]!;
    const t0 = performance.now();
    const rows = await suite.run({ quick, log, progress: () => {} });
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `\n== ${suite.name}${quick ? ' (--quick)' : ''}: ${suite.description}\n` +
        `   node ${process.version}, ${availableParallelism()} cpus, load avg ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}, ` +
        `${secs.toFixed(1)} s. Values are medians over alternating reps; ratio = median of per-rep ratios (> 1: subject better).\n`,
    );
    console.log(renderTable(rows));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
