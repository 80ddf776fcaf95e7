/**
 * The fault-injection stress (issue 5): a TaskManager under a seeded random mix of tasks that
 * allocate, release, transfer, return segments, hit limits, wait, get aborted (and ignore it), and
 * die (process.exit, a throw in a timer, heap exhaustion under slotHeap, terminate() at a random
 * instant), while the main thread churns, hogs memory, hands out stamped "gift" segments, and
 * samples every lease's figures.
 *
 * One round:
 *   1. set up: a bank lease of stamped gift segments, an `into` lease (sometimes with a small
 *      limit, so some returns are refused), per-task aux leases; in pressure rounds a hog that
 *      keeps the arena nearly exhausted;
 *   2. run: submit the tasks (staggered), abort some, terminate the terminate-kind tasks' threads
 *      at a random point of their churn; meanwhile a sampler checks `used <= limit` and
 *      `peak <= limit` for every lease, and a main-thread churn allocates and releases stamped
 *      segments between the event-loop turns;
 *   3. judge every outcome against its kind (see classify());
 *   4. at quiescence (every run settled, every slot's thread ready): check the stamps of the
 *      returned and the bank's segments; `audit()` must be ok — in a round where a thread died,
 *      `repair()` first (the documented recovery for what a kill strands mid-operation; what it
 *      recovered is reported); then one main-thread lease must allocate every segment of the
 *      arena (each index once, each scrubbed), and give them all back.
 * Anything else is a violation, counted and described. Counts of operations come from the tasks
 * (shared counters, flushed every FLUSH_EVERY operations: a killed task's last batch is lost, so
 * the totals are lower bounds).
 */
import { TaskManager, type Arena, type ArenaError, type Lease, type MemorySegment } from '../../src/index.js';
import {
  COUNTER_WORDS, E_STRESS_VIOLATION, K_ALLOC, K_EXHAUSTED, K_LIMIT, K_RECEIVED, K_RELEASE, K_SCRUB_CHECKED, K_TRANSFER,
  K_VERIFIED, K_VIOLATION, K_WAIT_OK, K_WAIT_TIMEOUT, KILL_KINDS, RECORD_WORDS, R_PROGRESS, R_SLOT, R_STATE, R_THREAD,
  type Gifts, type KillKind, type StressInput, type StressOutput, type TaskKind,
} from '../fixtures/stress/protocol.js';
import { Rng } from '../fixtures/rng.js';
import { checkStamp, looksScrubbed, stamp } from '../fixtures/stress/stamp.js';
import type { StressConfig } from './config.js';

const TASK_URL = new URL('../../dist/test/fixtures/stress/tasks.js', import.meta.url);

/** One violation: something the contract says cannot happen. */
export interface Violation {
  readonly round: number;
  readonly what: string;
}

/** The end result of a run. */
export interface StressSummary {
  seed: number;
  rounds: number;
  tasks: number;
  /** Segment operations inside tasks (lower bounds, see the file header). */
  ops: { alloc: number; release: number; transfer: number; total: number };
  /** Segment operations of the main thread's churn, hog, bank and census. */
  mainOps: number;
  verified: number;
  scrubChecked: number;
  limitHits: number;
  exhausted: number;
  waitsResolved: number;
  waitsTimedOut: number;
  giftsReceived: number;
  returned: number;
  /** Runs by how they ended. */
  outcomes: Record<string, number>;
  kills: Record<KillKind, number>;
  /** Runs that crashed because another task's death took their thread down (explained). */
  collateral: number;
  /** Runs refused at the end because `into` was full (ERR_LEASE_LIMIT). */
  intoFull: number;
  /** Lease samples taken while tasks ran (each checks every open lease). */
  samples: number;
  /** Rounds in which a kill could stop a thread inside an arena call, so repair() ran at the quiescent point. */
  repairRounds: number;
  /** Rounds in which threads died only between arena calls (exit, timer): audited strictly, no repair. */
  cleanDeathRounds: number;
  /** Segments those repairs recovered (stranded by a kill mid-operation). */
  repaired: number;
  /** Audit findings before those repairs (expected after kills: counts skewed by a stranded segment). */
  preRepairFindings: number;
  /** The first few of them, verbatim (numbers masked, deduplicated). */
  preRepairKinds: string[];
  /** Segments the census allocated (every segment of the arena, once per round). */
  censused: number;
  violations: Violation[];
  wallMs: number;
  /** The TaskManager's own totals at the end. */
  tm: { threads: number; killed: number; crashed: number; leaked: number; reclaimed: number };
  /** Quiescent samples (after each round): for the soak verdict. */
  quiescent: { atMs: number; rss: number; heapUsed: number; allocated: number; cached: number; total: number }[];
  /** Set when the run stopped early (a hung round). */
  stoppedEarly?: string;
}

/** What the driver reports while it runs. */
export interface StressHooks {
  log?(line: string): void;
  /** Called every config.soakEveryMs with a status line. */
  soakLine?(line: string): void;
  /** Collect garbage before each quiescent memory sample (the soak passes V8's gc()). */
  gc?(): void;
}

/** One planned task of a round. */
interface Plan {
  readonly index: number;
  readonly kind: TaskKind;
  readonly input: StressInput;
  readonly memory: number;
  readonly abortAfterMs: number | undefined;
  readonly delayMs: number;
  readonly terminateAtProgress: number;
  readonly terminateJitterMs: number;
  aux: Lease | undefined;
  controller: AbortController | undefined;
  aborted: boolean;
  terminated: boolean;
  settled: boolean;
  result: { ok: true; value: StressOutput } | { ok: false; error: ArenaError & { cause?: unknown } } | undefined;
}

const DYING: ReadonlySet<TaskKind> = new Set(['exit', 'timer', 'heap', 'terminate']);
const WEIGHTS: Record<TaskKind, number> = {
  churn: 30, limit: 8, wait: 8, cooperative: 8, stubborn: 5, exit: 5, timer: 5, heap: 4, terminate: 7,
};
const GENTLE_WEIGHTS: Record<TaskKind, number> = {
  churn: 30, limit: 8, wait: 8, cooperative: 0, stubborn: 0, exit: 6, timer: 6, heap: 0, terminate: 0,
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The promise's value, or undefined after `ms` (the timer does not outlive the promise). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

export function emptySummary(seed: number): StressSummary {
  return {
    seed, rounds: 0, tasks: 0, ops: { alloc: 0, release: 0, transfer: 0, total: 0 }, mainOps: 0, verified: 0, scrubChecked: 0,
    limitHits: 0, exhausted: 0, waitsResolved: 0, waitsTimedOut: 0, giftsReceived: 0, returned: 0, outcomes: {},
    kills: { exit: 0, timer: 0, heap: 0, terminate: 0, abortKill: 0 }, collateral: 0, intoFull: 0, samples: 0,
    repairRounds: 0, cleanDeathRounds: 0, repaired: 0, preRepairFindings: 0, preRepairKinds: [], censused: 0, violations: [], wallMs: 0,
    tm: { threads: 0, killed: 0, crashed: 0, leaked: 0, reclaimed: 0 }, quiescent: [],
  };
}

/** Run the stress. Never throws for a violation: they are in the summary. */
export async function runStress(config: StressConfig, hooks: StressHooks = {}): Promise<StressSummary> {
  const log = hooks.log ?? ((): void => {});
  const summary = emptySummary(config.seed);
  const master = new Rng(config.seed);
  const start = Date.now();
  const state: RunState = { tm: undefined, config, summary, nextToken: 1, start, live: undefined, gc: hooks.gc };
  let soakTimer: ReturnType<typeof setInterval> | undefined;
  if (config.soakEveryMs > 0 && hooks.soakLine !== undefined) {
    const line = hooks.soakLine;
    soakTimer = setInterval(() => line(soakStatus(state)), config.soakEveryMs);
  }
  const done = (r: number): boolean => {
    if (r > config.maxRounds) return true;
    if (r <= config.minRounds || Date.now() - start < config.durationMs) return false;
    return !(config.untilEveryKill && KILL_KINDS.some((k) => summary.kills[k] === 0));
  };
  try {
    let r = 1;
    for (let epoch = 0; !done(r) && summary.stoppedEarly === undefined; epoch++) {
      const profile = config.profiles[epoch % config.profiles.length]!;
      const tm = new TaskManager({
        arena: { ...profile.arena },
        slots: config.slots,
        concurrentTasksPerSlot: config.concurrentTasksPerSlot,
        slotMemory: profile.slotMemory,
        slotHeap: config.slotHeap,
        abortGrace: config.abortGrace,
      });
      state.tm = tm;
      log(`epoch ${epoch + 1}: profile '${profile.name}' (${tm.arena.segmentCount} segments, up to ${tm.arena.maxSize / tm.arena.segmentSize})`);
      try {
        if (!(await waitForSlots(tm, 30_000))) summary.violations.push({ round: r, what: 'slots not ready 30 s after the TaskManager started' });
        for (let k = 0; k < config.roundsPerEpoch && !done(r); k++, r++) {
          const ok = await runRound(state, tm, r, master.seed(), log);
          summary.rounds = r;
          if (!ok) break;
        }
      } finally {
        await closeEpoch(tm, summary);
      }
    }
  } finally {
    if (soakTimer !== undefined) clearInterval(soakTimer);
    summary.wallMs = Date.now() - start;
    summary.ops.total = summary.ops.alloc + summary.ops.release + summary.ops.transfer;
  }
  return summary;
}

/** Close the epoch's TaskManager: its own final audit must be clean and nothing allocated. */
async function closeEpoch(tm: TaskManager, summary: StressSummary): Promise<void> {
  const report = await withTimeout(tm.close(), 60_000);
  if (report === undefined) {
    summary.violations.push({ round: summary.rounds, what: 'tm.close() did not finish within 60 s' });
    return;
  }
  for (const p of report.audit.problems) summary.violations.push({ round: summary.rounds, what: `close(): audit: ${p}` });
  if (report.audit.allocated !== 0) summary.violations.push({ round: summary.rounds, what: `close(): ${report.audit.allocated} segment(s) still allocated` });
  const t = report.stats.totals;
  summary.tm.threads += t.threads;
  summary.tm.killed += t.killed;
  summary.tm.crashed += t.crashed;
  summary.tm.leaked += t.leaked;
  summary.tm.reclaimed += t.reclaimed;
  tm.arena.close();
}

interface RunState {
  tm: TaskManager | undefined;
  readonly config: StressConfig;
  readonly summary: StressSummary;
  nextToken: number;
  readonly start: number;
  /** The running round's counters (for soak lines). */
  live: Int32Array | undefined;
  readonly gc: (() => void) | undefined;
}

function soakStatus(s: RunState): string {
  const m = process.memoryUsage();
  const a = s.tm?.arena.stats();
  const live = s.live;
  const liveOps = live === undefined ? 0 : live[K_ALLOC]! + live[K_RELEASE]! + live[K_TRANSFER]!;
  const ops = s.summary.ops.alloc + s.summary.ops.release + s.summary.ops.transfer + liveOps;
  const t = ((Date.now() - s.start) / 1000).toFixed(0).padStart(5);
  return `[soak ${t}s] rss ${mib(m.rss)} MiB, heap ${mib(m.heapUsed)} MiB | arena: ${a === undefined ? '-' : `allocated ${a.allocated}, cached ${a.cached}, free ${a.free} of ${a.segmentCount}`} | rounds ${s.summary.rounds}, tasks ${s.summary.tasks}, ops ${ops.toLocaleString('en-US')}, violations ${s.summary.violations.length}`;
}

async function waitForSlots(tm: TaskManager, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const st = tm.stats();
    if (st.slots.every((s) => s.ready) && st.totals.running === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
}

// ---- one round -------------------------------------------------------------------------------------

async function runRound(s: RunState, tm: TaskManager, round: number, seed: number, log: (line: string) => void): Promise<boolean> {
  const { config, summary } = s;
  const arena = tm.arena;
  const rng = new Rng(seed);
  const seg = arena.segmentSize;
  const violate = (what: string): void => {
    summary.violations.push({ round, what });
  };
  const counters = new Int32Array(new SharedArrayBuffer(COUNTER_WORDS * 4));
  s.live = counters;
  const records = new Int32Array(new SharedArrayBuffer(config.tasksPerRound * RECORD_WORDS * 4));
  const beforeStats = tm.stats();
  const before = beforeStats.totals;
  const pressure = rng.chance(1 / 3);
  // A gentle round: threads die only between arena calls (exit, a throw in a timer) and nothing is
  // aborted, so its audit must be clean with no repair at all.
  const gentle = config.gentleEvery > 0 && round % config.gentleEvery === 0;
  const mainOps = { n: 0 };

  // Bank: stamped gift segments, handed out by handle.
  const bank = arena.lease({ name: `bank ${round}` });
  const bankToken = s.nextToken++;
  const bankSegs: { seg: MemorySegment; serial: number }[] = [];
  const eighth = Math.max(4, Math.floor(arena.segmentCount / 8));
  for (const [i, sg] of bank.allocateMany(Math.min(eighth, rng.int(16, 64))).entries()) {
    stamp(sg, bankToken, i + 1);
    bankSegs.push({ seg: sg, serial: i + 1 });
  }
  mainOps.n += bankSegs.length;
  let giftCursor = 0;
  const intoLimit = rng.chance(0.3) ? rng.int(4, 24) : undefined;
  const into = arena.lease({ name: `into ${round}`, ...(intoLimit === undefined ? {} : { limit: intoLimit * seg }) });

  // Plans.
  const taskSegs = Math.floor(tm.options.slotSegments / config.concurrentTasksPerSlot);
  const plans: Plan[] = [];
  const forced: TaskKind[] = !config.everyDeathEachRound ? [] : gentle ? ['exit', 'timer'] : ['exit', 'timer', 'heap', 'terminate', 'stubborn'];
  let delay = 0;
  for (let i = 0; i < config.tasksPerRound; i++) {
    const kind = forced[i] ?? rng.weighted(gentle ? GENTLE_WEIGHTS : WEIGHTS);
    const token = s.nextToken++;
    const memSegs = rng.int(4, taskSegs);
    const hold = rng.int(1, memSegs);
    const aux = kind !== 'exit' && kind !== 'heap' && rng.chance(0.6) ? arena.lease({ name: `aux ${token}`, limit: rng.int(1, 16) * seg }) : undefined;
    let gifts: Gifts | undefined;
    if ((kind === 'churn' || kind === 'cooperative') && rng.chance(0.5) && giftCursor < bankSegs.length) {
      const n = Math.min(rng.int(1, 6), bankSegs.length - giftCursor);
      const given = bankSegs.slice(giftCursor, giftCursor + n);
      giftCursor += n;
      gifts = { lease: bank.descriptor, handles: given.map((g) => g.seg.handle), token: bankToken, serials: given.map((g) => g.serial) };
    }
    const bounded = kind === 'churn' || kind === 'limit' || kind === 'wait';
    const opsBase = kind === 'churn' ? rng.int(2_000, 120_000) : kind === 'limit' ? rng.int(500, 8_000) : kind === 'wait' ? rng.int(200, 3_000) : rng.int(100, 30_000);
    const input: StressInput = {
      kind, token, seed: rng.seed(), counters: counters.buffer as SharedArrayBuffer, records: records.buffer as SharedArrayBuffer,
      record: i, ops: Math.max(50, Math.round(opsBase * (kind === 'exit' || bounded ? config.opsScale : 1))), hold,
      ...(aux === undefined ? {} : { aux: aux.descriptor }),
      ...(gifts === undefined ? {} : { gifts }),
      returns: bounded ? rng.int(0, 4) : 0,
      leave: rng.int(0, 3),
      exitCode: 20 + (token % 200),
      timerMs: rng.int(2, 80),
      yieldEvery: rng.int(16, 512),
    };
    const abortAfterMs = kind === 'cooperative' || kind === 'stubborn' ? rng.int(0, 60) : bounded && !gentle && rng.chance(0.06) ? rng.int(0, 30) : undefined;
    plans.push({
      index: i, kind, input, memory: memSegs * seg, abortAfterMs, delayMs: delay, terminateAtProgress: rng.int(1, 60), terminateJitterMs: rng.int(0, 3),
      aux,
      controller: undefined, aborted: false, terminated: false, settled: false, result: undefined,
    });
    delay += rng.int(0, 12);
  }

  // Main-thread activity while the round runs.
  let running = true;
  const sampler = setInterval(() => {
    const st = arena.stats();
    summary.samples++;
    for (const l of st.leaseStats) {
      if (l.used > l.limit) violate(`sampler: lease ${l.id} uses ${l.used} bytes, over its limit ${l.limit}`);
      if (l.peak > l.limit) violate(`sampler: lease ${l.id} peak ${l.peak} bytes, over its limit ${l.limit}`);
    }
  }, 5);
  const churnDone = mainChurn(arena, s.nextToken++, rng.seed(), () => running, violate, mainOps);
  const hogDone = pressure ? hog(arena, s.nextToken++, rng.seed(), () => running, violate, mainOps) : Promise.resolve();

  // Submit, abort, terminate.
  const settledAll = Promise.all(plans.map(async (p) => {
    await sleep(p.delayMs);
    if (p.abortAfterMs !== undefined) p.controller = new AbortController();
    const run = tm.run<StressOutput>(TASK_URL, p.input, {
      memory: p.memory, into, ...(p.controller === undefined ? {} : { signal: p.controller.signal }),
    });
    const side: Promise<void>[] = [];
    if (p.controller !== undefined) side.push(abortLater(p, records));
    if (p.kind === 'terminate') side.push(terminateLater(p, records, tm, p.terminateJitterMs, violate));
    try {
      p.result = { ok: true, value: await run };
    } catch (e) {
      p.result = { ok: false, error: e as ArenaError & { cause?: unknown } };
    }
    p.settled = true;
    if (p.aux !== undefined) p.aux.close(); // releases what the task left there
    await Promise.all(side);
  }));
  const hung = (await withTimeout(settledAll.then(() => false), config.roundTimeoutMs)) ?? true;
  running = false;
  clearInterval(sampler);
  if (hung) {
    const pending = plans.filter((p) => !p.settled).map((p) => `${p.kind}#${p.input.token}`);
    violate(`round hung: ${pending.length} run(s) unsettled after ${config.roundTimeoutMs} ms: ${pending.join(', ')}; tm: ${JSON.stringify(tm.stats().totals)}`);
    summary.stoppedEarly = `round ${round} hung`;
    // Unstick what can be unstuck (their runs crash), so that close() can drain.
    for (let slot = 0; slot < config.slots; slot++) await tm.terminateSlot(slot);
    await withTimeout(settledAll, 10_000);
    return false;
  }
  await churnDone;
  await hogDone;
  s.live = undefined;

  // Quiescence: every slot has a ready thread again (a replacement attaches before it is ready).
  if (!(await waitForSlots(tm, 30_000))) violate('a slot had no ready thread 30 s after the round');
  const afterStats = tm.stats();
  const after = afterStats.totals;
  const deaths = after.threads - before.threads;
  summary.kills.abortKill += after.killed - before.killed;
  const settledCount = (t: typeof after): number => t.succeeded + t.failed + t.crashed + t.aborted;
  if (settledCount(after) - settledCount(before) !== plans.length) {
    violate(`tm.stats(): ${settledCount(after) - settledCount(before)} runs settled by its counters, the round had ${plans.length}`);
  }

  // Judge every outcome. Threads and slots where a death was planned (a dying kind, or an abort,
  // which ends in a kill when the task does not stop within abortGrace) explain other crashes.
  const planned: Deaths = { threads: new Set(), slots: new Set(), killedSlots: new Set(), heapThreads: new Set() };
  // The TaskManager's own per-slot count of threads it terminated for an ignored abort. An abort
  // can kill a thread even for a task that never started (posted behind a busy synchronous task):
  // that task left no record, but the slot's `killed` counter names the slot.
  for (const sl of afterStats.slots) if (sl.killed > (beforeStats.slots[sl.slot]?.killed ?? 0)) planned.killedSlots.add(sl.slot);
  for (const p of plans) {
    const base = p.index * RECORD_WORDS;
    if (!(DYING.has(p.kind) || p.aborted) || Atomics.load(records, base + R_STATE) === 0) continue;
    planned.threads.add(Atomics.load(records, base + R_THREAD));
    planned.slots.add(Atomics.load(records, base + R_SLOT) - 1);
  }
  let returnedHere = 0;
  for (const p of plans) {
    const verdict = classify(p, records, planned, intoLimit === undefined ? undefined : into.name);
    summary.outcomes[verdict.outcome] = (summary.outcomes[verdict.outcome] ?? 0) + 1;
    if (verdict.kill !== undefined) summary.kills[verdict.kill]++;
    if (verdict.collateral) summary.collateral++;
    if (verdict.intoFull) summary.intoFull++;
    if (verdict.violation !== undefined) violate(verdict.violation);
    if (p.result?.ok === true) {
      const out = p.result.value;
      for (const [i, r] of out.returned.entries()) {
        const sg = r as MemorySegment;
        if (sg.released) violate(`task ${out.token}: returned segment ${sg.index} is not live in 'into'`);
        else {
          const problem = checkStamp(sg, out.token, out.serials[i]!);
          if (problem !== null) violate(`task ${out.token}: returned ${problem}`);
        }
        returnedHere++;
      }
    }
  }
  summary.returned += returnedHere;
  summary.tasks += plans.length;

  // The bank's segments nobody took are intact; into holds exactly what was returned.
  let bankLeft = 0;
  for (const g of bankSegs) {
    if (g.seg.released) continue; // transferred to a task
    bankLeft++;
    const problem = checkStamp(g.seg, bankToken, g.serial);
    if (problem !== null) violate(`bank: ${problem}`);
  }
  const bankClosed = bank.close();
  if (bankClosed !== bankLeft) violate(`bank close released ${bankClosed} segment(s), ${bankLeft} were left in it`);
  const intoClosed = into.close();
  if (intoClosed !== returnedHere) violate(`into close released ${intoClosed} segment(s), ${returnedHere} were returned into it`);

  // Fold the tasks' counters.
  summary.ops.alloc += counters[K_ALLOC]!;
  summary.ops.release += counters[K_RELEASE]!;
  summary.ops.transfer += counters[K_TRANSFER]!;
  summary.ops.total = summary.ops.alloc + summary.ops.release + summary.ops.transfer;
  summary.verified += counters[K_VERIFIED]!;
  summary.scrubChecked += counters[K_SCRUB_CHECKED]!;
  summary.limitHits += counters[K_LIMIT]!;
  summary.exhausted += counters[K_EXHAUSTED]!;
  summary.waitsResolved += counters[K_WAIT_OK]!;
  summary.waitsTimedOut += counters[K_WAIT_TIMEOUT]!;
  summary.giftsReceived += counters[K_RECEIVED]!;
  const taskViolations = counters[K_VIOLATION]!;
  const reported = plans.filter((p) => p.result?.ok === false && (p.result.error as { code?: string }).code === E_STRESS_VIOLATION).length;
  if (taskViolations > reported) violate(`${taskViolations - reported} violation(s) seen by tasks that died before reporting them`);

  // Only terminate() (ours, or the TaskManager's after an ignored abort) and heap exhaustion can
  // stop a thread in the middle of an arena call; process.exit() and a throw in a timer happen
  // between calls (JavaScript runs to completion). Only after the former may repair() be needed.
  const cutMidOperation =
    plans.some((p) => p.terminated) ||
    plans.some((p) => p.kind === 'heap' && Atomics.load(records, p.index * RECORD_WORDS + R_STATE) > 0) ||
    after.killed > before.killed;
  if (deaths > 0 && !cutMidOperation) summary.cleanDeathRounds++;
  quiescentChecks(tm, summary, round, cutMidOperation, violate, mainOps);
  summary.mainOps += mainOps.n;
  s.gc?.();
  const m = process.memoryUsage();
  const st = arena.stats();
  summary.quiescent.push({ atMs: Date.now() - s.start, rss: m.rss, heapUsed: m.heapUsed, allocated: st.allocated, cached: st.cached, total: st.segmentCount });
  log(`round ${round}${gentle ? ' (gentle)' : ''}: ${plans.length} tasks, ${deaths} thread death(s), ops ${(counters[K_ALLOC]! + counters[K_RELEASE]! + counters[K_TRANSFER]!).toLocaleString('en-US')}${pressure ? ', pressure' : ''}, violations so far ${summary.violations.length}`);
  return true;
}

/** The slot a task ran on: its record, or (never started) the slot its crash names. */
function slotOf(p: Plan, records: Int32Array): number | undefined {
  const r = Atomics.load(records, p.index * RECORD_WORDS + R_SLOT);
  if (r > 0) return r - 1;
  const msg = p.result?.ok === false ? p.result.error.message : '';
  const m = /slot (\d+)/.exec(msg);
  return m === null ? undefined : Number(m[1]);
}

/** Where deaths were planned this round. */
interface Deaths {
  readonly threads: Set<number>;
  readonly slots: Set<number>;
  /** Slots whose thread the TaskManager terminated for an ignored abort (its per-slot `killed` rose). */
  readonly killedSlots: Set<number>;
  /** Threads already counted as killed by heap exhaustion (two heap tasks may share one death). */
  readonly heapThreads: Set<number>;
}

interface Verdict {
  outcome: string;
  kill?: KillKind;
  collateral?: boolean;
  intoFull?: boolean;
  violation?: string;
}

/**
 * How a run may end, by kind:
 *   churn, limit, wait   resolve (and its returned stamps are checked); ERR_LEASE_LIMIT only when
 *                        `into` has a limit and the task returned segments; ERR_ABORTED only if
 *                        we aborted it
 *   cooperative, stubborn ERR_ABORTED (we always abort them)
 *   exit / timer / heap  ERR_TASK_CRASHED whose cause is its own death (exit code, timer message,
 *                        ERR_WORKER_OUT_OF_MEMORY)
 *   terminate            ERR_TASK_CRASHED after we terminated its thread
 * Any run may instead crash "collaterally": when it had started, on a thread where a death was
 * planned (a dying kind or an aborted task ran there); when it never started (its thread died
 * while it was still posted), on a slot where one was; or, with a terminate cause, on a slot
 * whose thread the TaskManager killed for an ignored abort (its per-slot `killed` counter rose).
 * Everything else is a violation.
 */
function classify(p: Plan, records: Int32Array, deaths: Deaths, limitedInto: string | undefined): Verdict {
  const r = p.result;
  const label = `task ${p.input.token} (${p.kind})`;
  if (r === undefined) return { outcome: 'unsettled', violation: `${label}: never settled` };
  if (r.ok) {
    if (p.kind === 'churn' || p.kind === 'limit' || p.kind === 'wait') return { outcome: 'succeeded' };
    return { outcome: 'unexpected-success', violation: `${label}: resolved, but it should have been ${p.kind === 'cooperative' || p.kind === 'stubborn' ? 'aborted' : 'killed'}` };
  }
  const e = r.error;
  const code = (e as { code?: string }).code;
  if (code === E_STRESS_VIOLATION) return { outcome: 'violation', violation: e.message };
  if (code === 'ERR_ABORTED') {
    if (p.aborted) return { outcome: 'aborted' };
    return { outcome: 'unexpected-abort', violation: `${label}: ERR_ABORTED but it was never aborted` };
  }
  if (code === 'ERR_LEASE_LIMIT' && limitedInto !== undefined && p.input.returns > 0 && e.message.includes(`'${limitedInto}'`)) {
    return { outcome: 'into-full', intoFull: true };
  }
  if (code === 'ERR_TASK_CRASHED') {
    const cause = e.cause as { message?: string; code?: string } | undefined;
    const msg = cause?.message ?? '';
    const base = p.index * RECORD_WORDS;
    const started = Atomics.load(records, base + R_STATE) > 0;
    const thread = Atomics.load(records, base + R_THREAD);
    const own =
      (p.kind === 'exit' && msg.includes(`code: ${p.input.exitCode}`)) ||
      (p.kind === 'timer' && msg === `stress timer throw by task ${p.input.token}`) ||
      (p.kind === 'heap' && started && cause?.code === 'ERR_WORKER_OUT_OF_MEMORY' && !deaths.heapThreads.has(thread)) ||
      (p.kind === 'terminate' && p.terminated && msg.includes('code: 1'));
    if (own) {
      if (p.kind === 'heap') deaths.heapThreads.add(thread);
      return { outcome: 'killed', kill: p.kind as KillKind };
    }
    const slot = slotOf(p, records);
    const killedThere = slot !== undefined && deaths.killedSlots.has(slot) && msg.includes('code: 1');
    if (killedThere || (started ? deaths.threads.has(thread) : slot !== undefined && deaths.slots.has(slot))) {
      return { outcome: 'collateral', collateral: true };
    }
    return {
      outcome: 'unexplained-crash',
      violation: `${label}: crashed on slot ${slot} (thread ${started ? thread : 'not started'}) where no death was planned: ${e.message}; cause: ${msg}`,
    };
  }
  return { outcome: `error ${code ?? 'unknown'}`, violation: `${label}: rejected with ${code ?? 'no code'}: ${e.message}` };
}

async function abortLater(p: Plan, records: Int32Array): Promise<void> {
  // Bounded kinds may be aborted while still queued (no record yet): abort on the clock alone.
  const started = p.kind === 'cooperative' || p.kind === 'stubborn';
  const deadline = Date.now() + 20_000;
  while (started && Atomics.load(records, p.index * RECORD_WORDS + R_STATE) === 0 && !p.settled && Date.now() < deadline) await sleep(1);
  await sleep(p.abortAfterMs ?? 0);
  if (p.settled) return;
  p.aborted = true;
  p.controller!.abort(new Error(`stress abort of task ${p.input.token}`));
}

/** Terminate the task's thread once it has done `terminateAtProgress` units of work (a random instant of its churn). */
async function terminateLater(p: Plan, records: Int32Array, tm: TaskManager, jitterMs: number, violate: (w: string) => void): Promise<void> {
  const base = p.index * RECORD_WORDS;
  const deadline = Date.now() + 20_000;
  while (!p.settled && Date.now() < deadline) {
    if (Atomics.load(records, base + R_STATE) > 0 && Atomics.load(records, base + R_PROGRESS) >= p.terminateAtProgress) break;
    await sleep(1);
  }
  if (jitterMs > 0) await sleep(jitterMs);
  if (p.settled) return; // died with its thread for another reason first
  const slot = Atomics.load(records, base + R_SLOT) - 1;
  const thread = Atomics.load(records, base + R_THREAD);
  if (slot < 0) {
    violate(`terminate task ${p.input.token}: never started within 20 s`);
    return;
  }
  // Same thread still on that slot (checked and terminated in one synchronous step).
  if (tm.stats().slots[slot]?.threadId !== thread) return;
  p.terminated = true;
  await tm.terminateSlot(slot);
}

/** Allocate and release stamped segments on the main thread between event-loop turns. */
async function mainChurn(arena: Arena, token: number, seed: number, running: () => boolean, violate: (w: string) => void, ops: { n: number }): Promise<void> {
  const rng = new Rng(seed);
  const lease = arena.lease({ name: `main churn ${token}`, limit: rng.int(4, Math.max(4, Math.min(64, arena.segmentCount / 8))) * arena.segmentSize });
  const held: { seg: MemorySegment; serial: number }[] = [];
  let serial = 0;
  while (running()) {
    for (let i = rng.int(1, 24); i > 0; i--) {
      if (held.length < lease.limit / arena.segmentSize && rng.chance(0.55)) {
        const sg = lease.tryAllocate();
        if (sg === null) continue;
        if (!looksScrubbed(sg) && sg.getUint32(4) !== token) violate(`main churn: fresh segment ${sg.index} holds another lease's stamp`);
        stamp(sg, token, ++serial);
        held.push({ seg: sg, serial });
        ops.n++;
      } else if (held.length > 0) {
        const k = rng.int(0, held.length - 1);
        const h = held[k]!;
        held[k] = held[held.length - 1]!;
        held.pop();
        const problem = checkStamp(h.seg, token, h.serial);
        if (problem !== null) violate(`main churn: ${problem}`);
        lease.release(h.seg);
        ops.n++;
      }
    }
    // A timer turn, not setImmediate: the main thread must not take a core from the slots.
    await sleep(rng.int(0, 2));
  }
  for (const h of held) {
    const problem = checkStamp(h.seg, token, h.serial);
    if (problem !== null) violate(`main churn: ${problem}`);
  }
  if (lease.close() !== held.length) violate('main churn: close released a different number of segments than it held');
}

/** Keep the arena nearly exhausted: grab almost everything, then give back and take again in small steps. */
async function hog(arena: Arena, token: number, seed: number, running: () => boolean, violate: (w: string) => void, ops: { n: number }): Promise<void> {
  const rng = new Rng(seed);
  const lease = arena.lease({ name: `hog ${token}` });
  const held: { seg: MemorySegment; serial: number }[] = [];
  let serial = 0;
  const take = (sg: MemorySegment): void => {
    stamp(sg, token, ++serial);
    held.push({ seg: sg, serial });
    ops.n++;
  };
  const giveBack = (k: number): void => {
    for (let i = Math.min(k, held.length); i > 0; i--) {
      const j = rng.int(0, held.length - 1);
      const h = held[j]!;
      held[j] = held[held.length - 1]!;
      held.pop();
      const problem = checkStamp(h.seg, token, h.serial);
      if (problem !== null) violate(`hog: ${problem}`);
      lease.release(h.seg);
      ops.n++;
    }
  };
  // First grab: everything, growing the arena to its maxSize (tryAllocate grows before it gives
  // up); then give a few back for the tasks to fight over.
  for (let sg = lease.tryAllocate(); sg !== null; sg = lease.tryAllocate()) take(sg);
  giveBack(rng.int(0, 8));
  while (running()) {
    await sleep(rng.int(1, 6));
    giveBack(rng.int(1, 6));
    if (rng.chance(0.6)) {
      for (let i = rng.int(1, 8); i > 0; i--) {
        const sg = lease.tryAllocate();
        if (sg === null) break;
        take(sg);
      }
    }
  }
  for (const h of held) {
    const problem = checkStamp(h.seg, token, h.serial);
    if (problem !== null) violate(`hog: ${problem}`);
  }
  ops.n += held.length;
  if (lease.close() !== held.length) violate('hog: close released a different number of segments than it held');
}

/** Audit (repairing first after a death), then one lease must allocate every segment, each scrubbed. */
function quiescentChecks(tm: TaskManager, summary: StressSummary, round: number, cutMidOperation: boolean, violate: (w: string) => void, ops: { n: number }): void {
  const arena = tm.arena;
  const t = tm.stats().totals;
  if (t.running !== 0 || t.queued !== 0) violate(`not quiescent after the round: ${t.running} running, ${t.queued} queued`);
  const first = arena.audit();
  if (cutMidOperation) {
    // Always a violation, whatever a kill stranded: a limit or a peak over its limit, a broken list.
    for (const p of first.problems) if (/over its limit|linked twice|broken chain|poison/.test(p)) violate(`audit after a kill: ${p}`);
    summary.preRepairFindings += first.problems.length;
    for (const p of first.problems) {
      const kind = p.replace(/\d+/g, 'N');
      if (!summary.preRepairKinds.includes(kind) && summary.preRepairKinds.length < 12) summary.preRepairKinds.push(kind);
    }
    summary.repairRounds++;
    summary.repaired += arena.repair();
    const second = arena.audit();
    for (const p of second.problems) violate(`audit after repair: ${p}`);
  } else {
    // No thread was stopped inside an arena call: the audit must be clean without any repair.
    for (const p of first.problems) violate(`audit: ${p}`);
  }
  const st = arena.stats();
  if (st.allocated !== 0) violate(`quiescent: ${st.allocated} segment(s) still allocated (every lease of the round is closed)`);
  // The census: one lease takes every segment of the arena.
  const n = arena.segmentCount;
  const census = arena.lease({ name: `census ${round}` });
  let segs: MemorySegment[] = [];
  try {
    segs = census.allocateMany(n);
  } catch (e) {
    violate(`census: could not allocate all ${n} segments (${(e as ArenaError).code}): stats ${JSON.stringify({ ...arena.stats(), leaseStats: undefined })}`);
  }
  if (segs.length === n) {
    const seen = new Uint8Array(n);
    let unscrubbed = 0;
    for (const sg of segs) {
      if (sg.index >= n || seen[sg.index]) violate(`census: segment ${sg.index} granted twice or out of range`);
      else seen[sg.index] = 1;
      if (!looksScrubbed(sg)) unscrubbed++;
    }
    if (unscrubbed > 0) violate(`census: ${unscrubbed} segment(s) reached a new lease without being scrubbed`);
    const cs = arena.stats();
    if (cs.free !== 0 || cs.allocated !== n) violate(`census: after taking all ${n}, free ${cs.free}, allocated ${cs.allocated}`);
    summary.censused += n;
    ops.n += 2 * n;
  }
  const released = census.close();
  if (released !== segs.length) violate(`census: close released ${released} of ${segs.length}`);
  const last = arena.audit();
  for (const p of last.problems) violate(`audit after the census: ${p}`);
}
