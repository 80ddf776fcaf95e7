/**
 * Campaigns of the interleaving checker, shared by the CLI (run.ts) and the CI test
 * (test/checker.test.ts): exhaustive search of a scenario under a preemption bound, and runs
 * of seeded random / PCT schedules. A seeded schedule is fully determined by (seed, strategy,
 * mutation): the seed picks the scenario and drives the strategy, so it is replayed by seed.
 * Every failure is printed with its seed, strategy, scenario and choice sequence.
 */
import { Checker, formatChoices, type Mutation, type ScheduleResult } from './harness.js';
import { Explorer, PctStrategy, RandomStrategy, ReplayStrategy, type Strategy } from './strategies.js';
import { curatedScenario, describeScenario, randomScenario, scenarioForSeed, type Scenario, type ScenarioOptions } from './scenarios.js';

export type SeededKind = 'random' | 'pct';

/** Expected steps of a schedule of `s` (PCT's k): measured ~12–20 per operation with batch 1. */
export const expectedSteps = (s: Scenario): number => 20 * s.scripts.reduce((n, sc) => n + sc.length + 1, 0);

/** The strategy of seeded schedule `seed`: PCT depth d ∈ {2, 3} from the seed. */
export function seededStrategy(kind: SeededKind, seed: number, scenario: Scenario): Strategy {
  if (kind === 'random') return new RandomStrategy(seed);
  return new PctStrategy(seed, scenario.scripts.length, expectedSteps(scenario), 2 + ((seed >>> 0) % 2));
}

export function findScenario(name: string): Scenario {
  const s = curatedScenario(name);
  if (s) return s;
  const m = /^random-(\d+)(r?)$/.exec(name);
  if (m) return randomScenario(Number(m[1]), { reservations: m[2] === 'r' });
  throw new Error(`unknown scenario '${name}' (a curated name, or random-<seed>[r])`);
}

export interface Failure {
  readonly result: ScheduleResult;
  /** How to replay it (a CLI command line). */
  readonly replay: string;
  readonly seed: number | null;
}

const mutationFlag = (m: Mutation): string => (m === 'none' ? '' : ` --mutation ${m}`);

export function formatFailure(f: Failure): string {
  const r = f.result;
  return [
    `VIOLATION (mutation ${r.mutation}) strategy ${r.strategy}${f.seed === null ? '' : ` seed ${f.seed}`}, ${r.steps} steps`,
    describeScenario(r.scenario),
    ...r.violations.map((v) => `  ! ${v}`),
    ...r.outcomes.map((o) => `  t${o.thread}.${o.op} ${o.kind} [${o.start}..${o.end}] ${o.code}` +
      `${o.target ? ` target ${o.target.index}@${o.target.gen}` : ''}${o.segments.length ? ` got ${o.segments.map((s) => `${s.index}@${s.gen}`).join(',')}` : ''}` +
      `${o.kind === 'close' ? ` released ${o.released}` : ''}`),
    `  choices (${r.choices.length}): ${formatChoices(r.choices)}`,
    `  replay: ${f.replay}`,
  ].join('\n');
}

export interface SeededSummary {
  readonly kind: SeededKind;
  readonly schedules: number;
  readonly steps: number;
  readonly failures: readonly Failure[];
  readonly ms: number;
}

/** Run `count` seeded schedules seed0, seed0 + 1, …; stops after `maxFailures` failures. */
export async function runSeeded(
  checker: Checker, kind: SeededKind, seed0: number, count: number, mutation: Mutation,
  o: { maxFailures?: number; progress?: (done: number) => void; scenario?: Scenario } & ScenarioOptions = {},
): Promise<SeededSummary> {
  const t0 = performance.now();
  const failures: Failure[] = [];
  let steps = 0;
  let done = 0;
  for (; done < count; done++) {
    const seed = (seed0 + done) >>> 0;
    const scenario = o.scenario ?? scenarioForSeed(seed, o);
    const r = await checker.run(scenario, seededStrategy(kind, seed, scenario), mutation);
    steps += r.steps;
    if (r.violations.length > 0) {
      const scen = o.scenario ? ` --scenario ${o.scenario.name}` : o.reservations === true ? ' --reservations' : '';
      failures.push({ result: r, seed, replay: `npx tsx test/checker/run.ts --replay ${seed} --strategy ${kind}${scen}${mutationFlag(mutation)}` });
      if (failures.length >= (o.maxFailures ?? 1)) {
        done++;
        break;
      }
    }
    if (o.progress && done % 1000 === 999) o.progress(done + 1);
  }
  return { kind, schedules: done, steps, failures, ms: performance.now() - t0 };
}

export interface ExhaustiveSummary {
  readonly scenario: string;
  readonly bound: number;
  readonly schedules: number;
  readonly steps: number;
  readonly failures: readonly Failure[];
  readonly ms: number;
}

/** Every schedule of `scenario` with at most `bound` preemptions (stops after `maxFailures`). */
export async function runExhaustive(
  checker: Checker, scenario: Scenario, bound: number, mutation: Mutation, o: { maxFailures?: number; limit?: number } = {},
): Promise<ExhaustiveSummary> {
  const t0 = performance.now();
  const explorer = new Explorer(bound);
  const failures: Failure[] = [];
  let steps = 0;
  for (let s = explorer.next(); s !== null; s = explorer.next()) {
    const r = await checker.run(scenario, s, mutation);
    steps += r.steps;
    if (r.violations.length > 0) {
      failures.push({
        result: r, seed: null,
        replay: `npx tsx test/checker/run.ts --scenario ${scenario.name} --choices "${formatChoices(r.choices)}"${mutationFlag(mutation)}`,
      });
      if (failures.length >= (o.maxFailures ?? 1)) break;
    }
    if (o.limit !== undefined && explorer.count >= o.limit) break;
  }
  return { scenario: scenario.name, bound, schedules: explorer.count, steps, failures, ms: performance.now() - t0 };
}

/** Replay one schedule: by seed and strategy, or by an explicit choice sequence. */
export async function replay(
  checker: Checker,
  how: ({ seed: number; kind: SeededKind; scenario?: Scenario } & ScenarioOptions) | { scenario: Scenario; choices: readonly number[] },
  mutation: Mutation,
): Promise<ScheduleResult> {
  if ('choices' in how) return checker.run(how.scenario, new ReplayStrategy(how.choices), mutation);
  const scenario = how.scenario ?? scenarioForSeed(how.seed, how);
  return checker.run(scenario, seededStrategy(how.kind, how.seed, scenario), mutation);
}
