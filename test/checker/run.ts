/**
 * The interleaving checker from the command line (needs a fresh `npm run build`: the virtual
 * threads run dist/).
 *
 *   npx tsx test/checker/run.ts [--schedules N] [--seed S] [--bound B] [--no-exhaustive]
 *                               [--mutation none|aba|late-limit] [--reservations] [--scenario NAME]
 *     exhaustive search of every curated 2-thread x 3-operation scenario with at most B
 *     (default 2) preemptions, then N seeded schedules (default 100000): half random, half
 *     PCT, seeds S, S+1, … (default S = 1; env CHECKER_SEED). Exits 1 on any violation
 *     (0 with a mutation if the checker caught it: that is what the mutation is for).
 *     --reservations adds leases with `reserve` to random scenarios (off by default: see
 *     scenarios.ts KNOWN_BUGS; `--scenario reserve` runs the pinned bug);
 *     --scenario NAME runs only that scenario (exhaustive and seeded); --max-failures K keeps
 *     going until K violations per campaign (default 1).
 *   npx tsx test/checker/run.ts --replay SEED --strategy random|pct [--scenario NAME] [--reservations] [--mutation M]
 *     replays one seeded schedule (env CHECKER_REPLAY=SEED works too) and prints it.
 *   npx tsx test/checker/run.ts --scenario NAME --choices "0*12 1*3 …" [--mutation M]
 *     replays an explicit choice sequence (what the exhaustive search prints).
 */
import { Checker, formatChoices, type Mutation } from './harness.js';
import { CURATED, describeScenario } from './scenarios.js';
import { findScenario, formatFailure, replay, runExhaustive, runSeeded, type Failure, type SeededKind } from './campaign.js';
import { parseChoices } from './harness.js';

function args(): Map<string, string> {
  const m = new Map<string, string>();
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!;
    if (!k.startsWith('--')) throw new Error(`unexpected argument '${k}'`);
    const v = a[i + 1];
    if (v === undefined || v.startsWith('--')) m.set(k.slice(2), 'true');
    else {
      m.set(k.slice(2), v);
      i++;
    }
  }
  return m;
}

function mutationOf(v: string | undefined): Mutation {
  if (v === undefined || v === 'none' || v === 'aba' || v === 'late-limit') return v ?? 'none';
  throw new Error(`--mutation must be none, aba or late-limit, not '${v}'`);
}

async function main(): Promise<number> {
  const a = args();
  const mutation = mutationOf(a.get('mutation'));
  const reservations = a.has('reservations');
  const checker = await Checker.start();
  try {
    const replaySeed = a.get('replay') ?? process.env['CHECKER_REPLAY'];
    const scenarioName = a.get('scenario');
    if (replaySeed !== undefined || a.has('choices')) {
      const kindArg = a.get('strategy') ?? 'pct';
      if (kindArg !== 'random' && kindArg !== 'pct') throw new Error('--strategy must be random or pct');
      const kind: SeededKind = kindArg;
      const scenario = scenarioName === undefined ? undefined : findScenario(scenarioName);
      const r = a.has('choices')
        ? await replay(checker, { scenario: scenario ?? CURATED[0]!, choices: parseChoices(a.get('choices')!) }, mutation)
        : await replay(checker, { seed: Number(replaySeed), kind, reservations, ...(scenario ? { scenario } : {}) }, mutation);
      if (r.violations.length === 0) {
        console.log(`${describeScenario(r.scenario)}\npassed: ${r.steps} steps, witness order ${r.witness}\nchoices: ${formatChoices(r.choices)}`);
        return 0;
      }
      console.log(formatFailure({ result: r, seed: replaySeed === undefined ? null : Number(replaySeed), replay: '(this run)' }));
      return 1;
    }

    const schedules = Number(a.get('schedules') ?? 100_000);
    const seed0 = Number(a.get('seed') ?? process.env['CHECKER_SEED'] ?? 1);
    const bound = Number(a.get('bound') ?? 2);
    const failures: Failure[] = [];
    const t0 = performance.now();
    console.log(`interleaving checker: mutation ${mutation}, ${schedules} seeded schedules from seed ${seed0}, preemption bound ${bound}${reservations ? ', with reservations' : ''}`);
    if (!a.has('no-exhaustive')) {
      const scenarios = scenarioName !== undefined ? [findScenario(scenarioName)] : CURATED;
      for (const s of scenarios) {
        const e = await runExhaustive(checker, s, bound, mutation, { maxFailures: Number(a.get('max-failures') ?? 1) });
        console.log(`  exhaustive ${e.scenario}: ${e.schedules} schedules (<= ${bound} preemptions, ${e.steps} steps) in ${(e.ms / 1000).toFixed(1)} s, ${e.failures.length} violation(s)`);
        failures.push(...e.failures);
      }
    }
    for (const kind of ['random', 'pct'] as const) {
      const n = kind === 'random' ? Math.ceil(schedules / 2) : Math.floor(schedules / 2);
      const s0 = kind === 'random' ? seed0 : seed0 + Math.ceil(schedules / 2);
      const r = await runSeeded(checker, kind, s0, n, mutation, {
        reservations, maxFailures: Number(a.get('max-failures') ?? 1), ...(scenarioName !== undefined ? { scenario: findScenario(scenarioName) } : {}),
        progress: (d) => { if (d % 10_000 === 0) console.log(`    ${kind}: ${d} schedules, ${((performance.now() - t0) / 1000).toFixed(0)} s`); },
      });
      console.log(`  ${kind}: ${r.schedules} schedules (seeds ${s0}..${s0 + r.schedules - 1}, ${r.steps} steps) in ${(r.ms / 1000).toFixed(1)} s, ${r.failures.length} violation(s)`);
      failures.push(...r.failures);
    }
    for (const f of failures) console.log(formatFailure(f));
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s, ${failures.length} violation(s)`);
    if (mutation !== 'none') return failures.length > 0 ? 0 : 1;
    return failures.length > 0 ? 1 : 0;
  } finally {
    await checker.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
