/**
 * The fault-injection stress (issue 5), scaled down for CI: a few rounds of the seeded mix of
 * test/stress/driver.ts on both arena profiles, every kind of death in every round. The full run
 * is `npm run stress` (see test/stress/run.ts).
 *
 * Needs the built task module (dist/test/fixtures/stress/tasks.js): `npm test` builds first.
 */
import { describe, expect, it } from 'vitest';
import { KILL_KINDS } from './fixtures/stress/protocol.js';
import { PROFILES, QUICK } from './stress/config.js';
import { runStress } from './stress/driver.js';

describe('fault-injection stress (quick)', () => {
  it('no violation; every kind of kill happened; operations, refusals and waits were exercised', async () => {
    const s = await runStress({ ...QUICK, seed: 0x5eed, durationMs: 0 });
    expect(s.violations).toEqual([]);
    expect(s.stoppedEarly).toBeUndefined();
    for (const k of KILL_KINDS) expect(s.kills[k], `kills: ${k}`).toBeGreaterThan(0);
    expect(s.rounds).toBeGreaterThanOrEqual(QUICK.minRounds);
    expect(s.tasks).toBe(s.rounds * QUICK.tasksPerRound);
    expect(s.ops.total).toBeGreaterThan(100_000);
    expect(s.ops.transfer).toBeGreaterThan(0);
    expect(s.verified).toBeGreaterThan(0);
    expect(s.limitHits).toBeGreaterThan(0);
    expect(s.outcomes.succeeded ?? 0).toBeGreaterThan(0);
    expect(s.outcomes.aborted ?? 0).toBeGreaterThan(0);
    expect(s.censused).toBeGreaterThan(0);
    expect(s.samples).toBeGreaterThan(0);
  }, 120_000);

  it('bites: the same stress with scrubbing sabotaged reports violations', async () => {
    const large = PROFILES[0]!;
    const s = await runStress({
      ...QUICK, seed: 0x5eed, durationMs: 0, minRounds: 1, maxRounds: 1, untilEveryKill: false,
      profiles: [{ ...large, arena: { ...large.arena, scrub: false } }],
    });
    expect(s.violations.length).toBeGreaterThan(0);
    expect(s.violations.some((v) => /stamp|scrub/.test(v.what))).toBe(true);
  }, 60_000);
});
