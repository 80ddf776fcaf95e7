/**
 * Observability: the figures of `arena.stats()` and `tm.stats()` as prom-client metrics.
 *
 * Nothing is counted on any hot path: every metric has a `collect` callback, and one scrape
 * (`registry.metrics()`) takes ONE snapshot of each source, shared by all metrics of that scrape
 * (prom-client calls every `collect` synchronously, before any microtask runs; the snapshot is
 * dropped in the next microtask). `arena.stats()` walks every segment and lease slot, so a scrape
 * costs O(segments + maxLeases); it is exact only when the arena is quiescent, like stats().
 *
 * Counters (`*_total`) mirror cumulative figures the sources already keep: at each scrape the
 * counter is reset and set to the source's current value. They are monotonic as long as the
 * source is (a TaskManager's counters start at 0 when it is created).
 *
 * Cardinality. Per-lease series are labelled `lease` (the lease id, unique within the arena) and
 * `name` (from `options.leaseName`, '' when unknown: arena.stats() does not carry lease names).
 * Only leases open at scrape time appear, but every TaskManager task gets its own short-lived
 * lease, so over time each task adds series that come and go: at most `maxLeaseSeries` leases
 * (default 100; the largest by bytes used, ties by id) get series per scrape, and
 * `lease_series_dropped` says how many open leases were left out. Set `maxLeaseSeries: 0` to drop
 * per-lease series entirely on busy task managers. Per-slot series are bounded by `slots`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Arena } from '../core/arena.js';
import type { ArenaStats, LeaseStats } from '../core/audit.js';
import { invalidArgument } from '../errors.js';
import type { TaskManagerStats } from './slot-stats.js';
import type { TaskManager } from './task-manager.js';

/** What to collect from: an arena, a TaskManager (and its arena), or both (the same arena). */
export interface MetricsSources {
  readonly arena?: Arena;
  readonly taskManager?: TaskManager;
}

/** Options of {@link collectMetrics}. */
export interface MetricsOptions {
  /** Prefix of every metric name. Default `'segment_arena_'`. */
  readonly prefix?: string;
  /** Most leases that get per-lease series in one scrape (largest `used` first). Default 100. */
  readonly maxLeaseSeries?: number;
  /** The `name` label of a lease, by lease id (e.g. from the Lease objects you hold). Default: ''. */
  readonly leaseName?: (id: number) => string | undefined;
}

/** What {@link collectMetrics} registered. */
export interface MetricsHandle {
  /** The full names of the registered metrics. */
  readonly names: readonly string[];
  /** Unregister them all from the registry. */
  remove(): void;
}

const DEFAULT_MAX_LEASE_SERIES = 100;

type OutcomeLabel = 'succeeded' | 'failed' | 'crashed' | 'aborted';
const OUTCOMES: readonly OutcomeLabel[] = ['succeeded', 'failed', 'crashed', 'aborted'];

/** One snapshot of the sources per scrape. */
interface Snapshot {
  readonly arena: ArenaStats | undefined;
  readonly tm: TaskManagerStats | undefined;
}

/**
 * Register segment-arena metrics on `registry`, collected at scrape time.
 *
 * Arena (gauges unless `_total`): `segments{state=free|allocated|cached}`, `segment_count`,
 * `size_bytes`, `max_size_bytes`, `segment_size_bytes`, `available_segments`, `peak_segments`,
 * `open_leases`, `waiting_threads`, `grows_total`, `allocations_total`, `releases_total`,
 * `transfers_total`, `waits_total`, `scrubs_total`, `leaked_segments_total`,
 * `allocation_refusals_total{code}`; per lease `lease_used_bytes`,
 * `lease_peak_bytes`, `lease_limit_bytes`, `lease_reserve_bytes` (labels `lease`, `name`) and
 * `lease_series_dropped`.
 *
 * TaskManager: `tasks_started_total`, `tasks_total{outcome}`, `task_failures_total{code}`
 * (ERR_TASK_CRASHED, ERR_ABORTED, ERR_QUEUE_FULL, and `task_error` for a task's own error, whose
 * code the stats do not keep), `tasks_killed_total`, `tasks_running`, `tasks_queued`,
 * `task_leaked_segments_total`, `reclaimed_segments_total`, `repaired_segments_total`,
 * `threads_started_total`; per slot (label `slot`) `slot_memory_used_bytes`,
 * `slot_memory_reserved_bytes`, `slot_memory_limit_bytes`, `slot_running_tasks`, `slot_ready`.
 *
 * @throws ArenaError ERR_INVALID_ARGUMENT for a bad registry, no source, or an arena that is not
 *   the TaskManager's.
 */
export function collectMetrics(registry: Registry, sources: MetricsSources, options: MetricsOptions = {}): MetricsHandle {
  if (typeof registry !== 'object' || registry === null || typeof (registry as Partial<Registry>).registerMetric !== 'function') {
    throw invalidArgument('registry', 'must be a prom-client Registry', registry);
  }
  if (typeof sources !== 'object' || sources === null) throw invalidArgument('sources', 'must be { arena?, taskManager? }', sources);
  const tm = sources.taskManager;
  const arena = sources.arena ?? tm?.arena;
  if (arena === undefined) throw invalidArgument('sources', 'must name an arena or a taskManager', sources);
  if (tm !== undefined && tm.arena !== arena) throw invalidArgument('arena', "must be the taskManager's arena", arena);
  const prefix = options.prefix ?? 'segment_arena_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw invalidArgument('prefix', 'must be a valid metric name prefix', prefix);
  }
  const maxLeaseSeries = options.maxLeaseSeries ?? DEFAULT_MAX_LEASE_SERIES;
  if (!Number.isInteger(maxLeaseSeries) || maxLeaseSeries < 0) {
    throw invalidArgument('maxLeaseSeries', 'must be a non-negative integer', maxLeaseSeries);
  }
  const leaseName = options.leaseName ?? ((): undefined => undefined);

  let snapshot: Snapshot | undefined;
  const snap = (): Snapshot => {
    if (snapshot !== undefined) return snapshot;
    let tmStats: TaskManagerStats | undefined;
    let arenaStats: ArenaStats | undefined;
    try {
      // tm.stats() includes the arena's stats: one walk, not two.
      tmStats = tm?.stats();
      arenaStats = tmStats?.arena ?? arena.stats();
    } catch {
      // A closed arena: this scrape shows no arena series rather than failing the whole endpoint.
    }
    snapshot = { arena: arenaStats, tm: tmStats };
    queueMicrotask(() => (snapshot = undefined));
    return snapshot;
  };

  const registers = [registry];
  const names: string[] = [];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: Snapshot) => void): void => {
    const full = prefix + name;
    names.push(full);
    new Gauge<L>({
      name: full, help, labelNames, registers,
      collect() {
        this.reset();
        fill(this, snap());
      },
    });
  };
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (c: Counter<L>, s: Snapshot) => void): void => {
    const full = prefix + name;
    names.push(full);
    new Counter<L>({
      name: full, help, labelNames, registers,
      collect() {
        this.reset();
        fill(this, snap());
      },
    });
  };
  const arenaGauge = (name: string, help: string, value: (a: ArenaStats) => number): void =>
    gauge(name, help, [], (g, s) => {
      if (s.arena !== undefined) g.set(value(s.arena));
    });

  // ---- arena ---------------------------------------------------------------------------------
  gauge('segments', 'Segments by place: the central free list, lease-owned, or thread caches.', ['state'], (g, s) => {
    const a = s.arena;
    if (a === undefined) return;
    g.set({ state: 'free' }, a.free);
    g.set({ state: 'allocated' }, a.allocated);
    g.set({ state: 'cached' }, a.cached);
  });
  arenaGauge('segment_count', 'Segments in the arena now (grows with the arena).', (a) => a.segmentCount);
  arenaGauge('size_bytes', 'Current size of the arena data buffer in bytes.', (a) => a.size);
  arenaGauge('max_size_bytes', 'Largest size the arena may grow to, in bytes.', (a) => a.maxSize);
  arenaGauge('segment_size_bytes', 'Size of one segment in bytes.', (a) => a.segmentSize);
  arenaGauge('available_segments', 'Free segments any lease may take (the rest back reservations).', (a) => a.available);
  arenaGauge('peak_segments', 'Most segments out of the central free list at once (allocated + cached), sampled at refills.', (a) => a.peak);
  arenaGauge('open_leases', 'Open leases.', (a) => a.leases);
  arenaGauge('waiting_threads', 'Threads (attached Arena objects) waiting in allocateAsync now.', (a) => a.waiters);
  counter('grows_total', 'Times the arena grew.', [], (c, s) => {
    if (s.arena !== undefined) c.inc(s.arena.grows);
  });
  // Activity counters (src/core/counters.ts): other threads' figures lag by at most one batch.
  const activity = (name: string, help: string, value: (x: ArenaStats['activity']) => number): void =>
    counter(name, help, [], (c, s) => {
      if (s.arena !== undefined) c.inc(value(s.arena.activity));
    });
  activity('allocations_total', 'Segments handed to leases by allocation.', (x) => x.allocations);
  activity('releases_total', 'Segments given back by release or close.', (x) => x.releases);
  activity('transfers_total', 'Segments moved between leases.', (x) => x.transfers);
  activity('waits_total', 'allocateAsync requests that had to wait.', (x) => x.waits);
  activity('scrubs_total', 'Segments zeroed before a different lease received them.', (x) => x.scrubs);
  activity('leaked_segments_total', 'Segments leases still held when they were closed.', (x) => x.leaked);
  counter('allocation_refusals_total', 'Allocations refused, by error code.', ['code'], (c, s) => {
    if (s.arena === undefined) return;
    c.inc({ code: 'ERR_LEASE_LIMIT' }, s.arena.activity.refusedLimit);
    c.inc({ code: 'ERR_ARENA_EXHAUSTED' }, s.arena.activity.refusedExhausted);
  });

  const leaseSeries = (s: Snapshot): LeaseStats[] => {
    const all = s.arena?.leaseStats ?? [];
    if (all.length <= maxLeaseSeries) return all;
    return [...all].sort((x, y) => y.used - x.used || x.id - y.id).slice(0, maxLeaseSeries);
  };
  const perLease = (name: string, help: string, value: (l: LeaseStats) => number): void =>
    gauge(name, help, ['lease', 'name'], (g, s) => {
      for (const l of leaseSeries(s)) g.set({ lease: String(l.id), name: leaseName(l.id) ?? '' }, value(l));
    });
  perLease('lease_used_bytes', 'Bytes an open lease holds now.', (l) => l.used);
  perLease('lease_peak_bytes', 'Most bytes an open lease ever held at once (never above its limit).', (l) => l.peak);
  perLease('lease_limit_bytes', "An open lease's hard limit in bytes.", (l) => l.limit);
  perLease('lease_reserve_bytes', 'Bytes set aside for an open lease alone.', (l) => l.reserve);
  gauge('lease_series_dropped', 'Open leases left out of the per-lease series (maxLeaseSeries).', [], (g, s) => {
    if (s.arena !== undefined) g.set(Math.max(0, s.arena.leaseStats.length - maxLeaseSeries));
  });

  // ---- task manager --------------------------------------------------------------------------
  if (tm !== undefined) {
    const total = (name: string, help: string, value: (t: TaskManagerStats['totals']) => number): void =>
      counter(name, help, [], (c, s) => {
        if (s.tm !== undefined) c.inc(value(s.tm.totals));
      });
    total('tasks_started_total', 'Tasks and actors started on a slot.', (t) => t.run);
    counter('tasks_total', 'Tasks and actors that settled, by outcome (aborted includes aborts while queued).', ['outcome'], (c, s) => {
      if (s.tm === undefined) return;
      for (const outcome of OUTCOMES) c.inc({ outcome }, s.tm.totals[outcome]);
    });
    counter(
      'task_failures_total',
      "Runs that did not succeed, by error code; 'task_error' is a task's own error (its code is not counted).",
      ['code'],
      (c, s) => {
        if (s.tm === undefined) return;
        const t = s.tm.totals;
        c.inc({ code: 'ERR_TASK_CRASHED' }, t.crashed);
        c.inc({ code: 'ERR_ABORTED' }, t.aborted);
        c.inc({ code: 'ERR_QUEUE_FULL' }, t.rejected);
        c.inc({ code: 'task_error' }, t.failed);
      },
    );
    total('tasks_killed_total', 'Aborted tasks that ignored their signal past abortGrace: their thread was terminated.', (t) => t.killed);
    total('task_leaked_segments_total', 'Segments still held by a settled task, released by the TaskManager.', (t) => t.leaked);
    total('reclaimed_segments_total', 'Segments taken back from the caches of dead threads.', (t) => t.reclaimed);
    total('repaired_segments_total', 'Segments the repair at close() recovered.', (t) => t.repaired);
    total('threads_started_total', 'Slot threads started (1 per slot, plus 1 per replacement after a death).', (t) => t.threads);
    const totalGauge = (name: string, help: string, value: (t: TaskManagerStats['totals']) => number): void =>
      gauge(name, help, [], (g, s) => {
        if (s.tm !== undefined) g.set(value(s.tm.totals));
      });
    totalGauge('tasks_running', 'Tasks and actors running now.', (t) => t.running);
    totalGauge('tasks_queued', 'Tasks and actors waiting for admission now.', (t) => t.queued);
    const perSlot = (name: string, help: string, value: (sl: TaskManagerStats['slots'][number]) => number): void =>
      gauge(name, help, ['slot'], (g, s) => {
        for (const sl of s.tm?.slots ?? []) g.set({ slot: String(sl.slot) }, value(sl));
      });
    perSlot('slot_memory_used_bytes', "Bytes the leases of a slot's running tasks hold now.", (sl) => sl.memoryUsed);
    perSlot('slot_memory_reserved_bytes', "Bytes admitted on a slot: the sum of its running tasks' memory.", (sl) => sl.memoryReserved);
    perSlot('slot_memory_limit_bytes', 'slotMemory: the most bytes a slot may admit.', (sl) => sl.memoryLimit);
    perSlot('slot_running_tasks', 'Tasks and actors running on a slot now.', (sl) => sl.running);
    perSlot('slot_ready', '1 while the slot has a ready thread.', (sl) => (sl.ready ? 1 : 0));
  }

  return Object.freeze({
    names: Object.freeze([...names]),
    remove(): void {
      for (const n of names) registry.removeSingleMetric(n);
    },
  });
}
