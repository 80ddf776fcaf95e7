/**
 * collectMetrics (issue 5, "Observability"): scrape a prom-client registry's text format after
 * real allocations and real tasks (every outcome), and check each metric's value, not only its
 * presence.
 *
 * Task fixtures: test/fixtures/tasks/{basic,lifecycle}.ts, built to dist/ (npm run build).
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskManager, collectMetrics, type Lease, type MetricsHandle } from '../src/index.js';
import { C_PROGRESS, C_STARTED, bump, newCounters, waitAtLeast } from './fixtures/tasks/counters.js';
import { codeOf, rejection } from './helpers.js';

const TASKS = new URL('../dist/test/fixtures/tasks/', import.meta.url);
const BASIC = new URL('basic.js', TASKS);
const LIFECYCLE = new URL('lifecycle.js', TASKS);
const SEG = 4096;

/** One sample of the text format. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parse Prometheus text exposition format (what registry.metrics() returns). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0]!.value;
}

describe('collectMetrics', () => {
  let tm: TaskManager;
  let registry: Registry;
  let handle: MetricsHandle;
  const names = new Map<number, string>();
  const P = 'segment_arena_';

  beforeAll(() => {
    tm = new TaskManager({
      arena: { size: '512KiB', maxSize: '1MiB', segmentSize: SEG },
      slots: 2,
      slotMemory: '128KiB',
      abortGrace: 10_000,
    });
    registry = new Registry();
    handle = collectMetrics(registry, { arena: tm.arena, taskManager: tm }, { leaseName: (id) => names.get(id) });
  });

  afterAll(async () => {
    const report = await tm.close();
    expect(report.audit.problems).toEqual([]);
  });

  const lease = (name: string, options: { limit?: string; reserve?: string } = {}): Lease => {
    const l = tm.arena.lease({ name, ...options });
    names.set(l.id, name);
    return l;
  };
  const scrape = async (): Promise<Sample[]> => parse(await registry.metrics());

  it('finds every metric with the value the arena and the TaskManager report', async () => {
    const arena = tm.arena;
    const held = lease('held', { limit: '64KiB' });
    const five = held.allocateMany(5);
    held.release(five.slice(0, 2)); // used 3, peak 5
    const reserved = lease('reserved', { reserve: '8KiB' });

    // Every outcome: 2 succeeded, 1 failed, 1 crashed, 1 aborted.
    const c = newCounters();
    expect(await tm.run(BASIC, 'hello')).toBe('hello');
    expect(await tm.run(BASIC, 3, { name: 'leak' })).toEqual({ used: 3 * SEG }); // leaves 3 behind
    expect((await rejection(tm.run(BASIC, { stamp: 1 }, { name: 'nested' }))).code).toBe('ERR_INVALID_ARGUMENT'); // 3 released
    expect((await rejection(tm.run(LIFECYCLE, { counters: c.buffer, hold: 5 }, { name: 'exit' }))).code).toBe('ERR_TASK_CRASHED');
    // piscina replaces the dead thread: wait until both slots are ready again.
    for (let i = 0; i < 1000 && !tm.stats().slots.every((x) => x.ready); i++) await new Promise((r) => setTimeout(r, 10));
    const ac = new AbortController();
    const coop = tm.run(LIFECYCLE, { counters: c.buffer, hold: 2 }, { name: 'cooperative', signal: ac.signal });
    await waitAtLeast(c, C_STARTED, 2, 10_000);
    ac.abort();
    expect((await rejection(coop)).code).toBe('ERR_ABORTED');

    // A task still running at the scrape: 4 segments of its 64 KiB on slot 0.
    const gate = newCounters();
    const gated = tm.run(LIFECYCLE, { counters: gate.buffer, hold: 4 }, { name: 'gated', memory: '64KiB' });
    await waitAtLeast(gate, C_STARTED, 1, 10_000);
    let s = await scrape();
    const st = tm.stats();
    const slot = st.slots.find((x) => x.running === 1)!;
    expect(value(s, `${P}tasks_running`)).toBe(1);
    expect(value(s, `${P}tasks_queued`)).toBe(0);
    expect(value(s, `${P}slot_running_tasks`, { slot: String(slot.slot) })).toBe(1);
    expect(value(s, `${P}slot_memory_used_bytes`, { slot: String(slot.slot) })).toBe(4 * SEG);
    expect(value(s, `${P}slot_memory_reserved_bytes`, { slot: String(slot.slot) })).toBe(64 * 1024);
    expect(value(s, `${P}slot_memory_limit_bytes`, { slot: '1' })).toBe(128 * 1024);
    expect(value(s, `${P}tasks_started_total`)).toBe(6);
    bump(gate, C_PROGRESS);
    expect(await gated).toBe('passed the gate');

    // Exhaust the arena (it grows to maxSize first), then leave one thread waiting for memory.
    const big = lease('big');
    while (big.tryAllocate() !== null); // null only once the arena cannot grow any more
    expect(arena.stats().grows).toBeGreaterThanOrEqual(1);
    expect(arena.segmentCount).toBe(256);
    const waiter = lease('waiter');
    const pending = waiter.allocateAsync(1, { timeout: 10_000 });
    expect(codeOf(() => waiter.allocate())).toBe('ERR_ARENA_EXHAUSTED');

    s = await scrape();
    const a = arena.stats();
    const t = tm.stats().totals;
    // Every registered metric has at least one sample.
    for (const n of handle.names) expect(s.some((x) => x.name === n), n).toBe(true);
    expect([...handle.names].sort()).toEqual([
      'allocation_refusals_total', 'allocations_total', 'leaked_segments_total', 'releases_total', 'scrubs_total',
      'transfers_total', 'waits_total',
      'available_segments', 'grows_total', 'lease_limit_bytes', 'lease_peak_bytes', 'lease_reserve_bytes',
      'lease_series_dropped', 'lease_used_bytes', 'max_size_bytes', 'open_leases', 'peak_segments',
      'reclaimed_segments_total', 'repaired_segments_total', 'segment_count', 'segment_size_bytes', 'segments',
      'size_bytes', 'slot_memory_limit_bytes', 'slot_memory_reserved_bytes', 'slot_memory_used_bytes',
      'slot_ready', 'slot_running_tasks', 'task_failures_total', 'task_leaked_segments_total', 'tasks_killed_total',
      'tasks_queued', 'tasks_running', 'tasks_started_total', 'tasks_total', 'threads_started_total',
      'waiting_threads',
    ].map((n) => P + n).sort());

    // Arena.
    expect(value(s, `${P}segments`, { state: 'allocated' })).toBe(a.allocated);
    expect(a.allocated).toBe(256 - 2); // held + big: everything but the reservation
    expect(big.used).toBe((256 - 2 - 3) * SEG);
    expect(value(s, `${P}segments`, { state: 'free' })).toBe(a.free);
    expect(value(s, `${P}segments`, { state: 'cached' })).toBe(a.cached);
    expect(a.free + a.cached + a.allocated).toBe(256);
    expect(value(s, `${P}segment_count`)).toBe(256);
    expect(value(s, `${P}size_bytes`)).toBe(1024 * 1024);
    expect(value(s, `${P}max_size_bytes`)).toBe(1024 * 1024);
    expect(value(s, `${P}segment_size_bytes`)).toBe(SEG);
    expect(value(s, `${P}available_segments`)).toBe(0);
    expect(a.free).toBe(2); // the reservation stays on the free list, unavailable to others
    expect(value(s, `${P}peak_segments`)).toBe(a.peak);
    expect(a.peak).toBeGreaterThan(200);
    expect(value(s, `${P}open_leases`)).toBe(4);
    expect(value(s, `${P}waiting_threads`)).toBe(1);
    expect(value(s, `${P}grows_total`)).toBe(a.grows);
    // Activity counters: the same totals the arena reports (main thread published at stats()).
    const x = a.activity;
    expect(value(s, `${P}allocations_total`)).toBe(x.allocations);
    expect(x.allocations).toBeGreaterThanOrEqual(256 - 2);
    expect(value(s, `${P}releases_total`)).toBe(x.releases);
    expect(value(s, `${P}transfers_total`)).toBe(x.transfers);
    expect(value(s, `${P}waits_total`)).toBe(x.waits);
    expect(x.waits).toBeGreaterThanOrEqual(1);
    expect(value(s, `${P}scrubs_total`)).toBe(x.scrubs);
    expect(value(s, `${P}leaked_segments_total`)).toBe(x.leaked);
    expect(value(s, `${P}allocation_refusals_total`, { code: 'ERR_ARENA_EXHAUSTED' })).toBe(x.refusedExhausted);
    expect(x.refusedExhausted).toBeGreaterThanOrEqual(1);
    expect(value(s, `${P}allocation_refusals_total`, { code: 'ERR_LEASE_LIMIT' })).toBe(x.refusedLimit);

    // Leases, labelled by id and name.
    const of = (l: Lease): Record<string, string> => ({ lease: String(l.id), name: names.get(l.id)! });
    expect(value(s, `${P}lease_used_bytes`, of(held))).toBe(3 * SEG);
    expect(value(s, `${P}lease_peak_bytes`, of(held))).toBe(5 * SEG);
    expect(value(s, `${P}lease_limit_bytes`, of(held))).toBe(64 * 1024);
    expect(value(s, `${P}lease_reserve_bytes`, of(held))).toBe(0);
    expect(value(s, `${P}lease_reserve_bytes`, of(reserved))).toBe(2 * SEG);
    expect(value(s, `${P}lease_used_bytes`, of(reserved))).toBe(0);
    expect(value(s, `${P}lease_used_bytes`, of(big))).toBe(big.used);
    expect(value(s, `${P}lease_limit_bytes`, of(big))).toBe(1024 * 1024); // unlimited: the whole arena
    expect(value(s, `${P}lease_series_dropped`)).toBe(0);

    // Tasks.
    expect(value(s, `${P}tasks_started_total`)).toBe(6);
    expect(value(s, `${P}tasks_total`, { outcome: 'succeeded' })).toBe(3);
    expect(value(s, `${P}tasks_total`, { outcome: 'failed' })).toBe(1);
    expect(value(s, `${P}tasks_total`, { outcome: 'crashed' })).toBe(1);
    expect(value(s, `${P}tasks_total`, { outcome: 'aborted' })).toBe(1);
    expect(value(s, `${P}task_failures_total`, { code: 'ERR_TASK_CRASHED' })).toBe(1);
    expect(value(s, `${P}task_failures_total`, { code: 'ERR_ABORTED' })).toBe(1);
    expect(value(s, `${P}task_failures_total`, { code: 'ERR_QUEUE_FULL' })).toBe(0);
    expect(value(s, `${P}task_failures_total`, { code: 'task_error' })).toBe(1);
    expect(value(s, `${P}tasks_killed_total`)).toBe(0);
    // Left behind by settled tasks: leak 3 + nested 3 + exit 5 + cooperative 2 + gated 4.
    expect(value(s, `${P}task_leaked_segments_total`)).toBe(3 + 3 + 5 + 2 + 4);
    expect(value(s, `${P}task_leaked_segments_total`)).toBe(t.leaked);
    expect(value(s, `${P}reclaimed_segments_total`)).toBe(t.reclaimed);
    expect(t.reclaimed).toBeGreaterThan(0); // the exit task's thread died with segments in its cache
    expect(value(s, `${P}repaired_segments_total`)).toBe(0);
    expect(value(s, `${P}threads_started_total`)).toBe(3); // two slots, one replacement
    expect(value(s, `${P}tasks_running`)).toBe(0);
    for (const sl of ['0', '1']) {
      expect(value(s, `${P}slot_ready`, { slot: sl })).toBe(1);
      expect(value(s, `${P}slot_running_tasks`, { slot: sl })).toBe(0);
      expect(value(s, `${P}slot_memory_used_bytes`, { slot: sl })).toBe(0);
    }

    // The waiter gets its segment once some come back; the gauge follows.
    big.close();
    expect(await pending).toHaveLength(1);
    s = await scrape();
    expect(value(s, `${P}waiting_threads`)).toBe(0);
    expect(value(s, `${P}open_leases`)).toBe(3);
    expect(value(s, `${P}segments`, { state: 'allocated' })).toBe(3 + 1);
    waiter.close();
    reserved.close();
    held.close();
  });

  it('caps per-lease series (largest first) and says how many it dropped', async () => {
    const r = new Registry();
    const h = collectMetrics(r, { arena: tm.arena }, { maxLeaseSeries: 1, prefix: 'capped_' });
    const small = lease('small');
    const large = lease('large');
    small.allocateMany(1);
    large.allocateMany(3);
    const s = parse(await r.metrics());
    const used = s.filter((x) => x.name === 'capped_lease_used_bytes');
    expect(used).toEqual([{ name: 'capped_lease_used_bytes', labels: { lease: String(large.id), name: '' }, value: 3 * SEG }]);
    expect(value(s, 'capped_lease_series_dropped')).toBe(1);
    // Only arena metrics without a TaskManager.
    expect(h.names.some((n) => n.includes('task'))).toBe(false);
    h.remove();
    expect(await r.metrics()).toBe('\n');
    small.close();
    large.close();
  });

  it('validates its arguments', () => {
    expect(codeOf(() => collectMetrics({} as Registry, { arena: tm.arena }))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => collectMetrics(new Registry(), {}))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => collectMetrics(new Registry(), { arena: tm.arena }, { maxLeaseSeries: -1 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => collectMetrics(new Registry(), { arena: tm.arena }, { prefix: 'bad prefix' }))).toBe('ERR_INVALID_ARGUMENT');
  });
});
