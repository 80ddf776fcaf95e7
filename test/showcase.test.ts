/**
 * The showcase (`npm start`, examples/showcase.ts) run small, as a user runs it: a child process
 * under tsx, its task loaded as built JavaScript from dist/ (run `npm run build` first; `npm test`
 * does). Checks what it prints as JSON (verified, spills where configured, the same data for the
 * same seed), its exit codes, and that its temporary directory is gone after success, a failing
 * task, and Ctrl-C. No timing is asserted; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { USAGE, UsageError, parseOptions, type ShowcaseOptions } from '../examples/sort/options.js';
import { planJob } from '../examples/sort/plan.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT_TASK = join(ROOT, 'dist/examples/sort/sort-task.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Summary {
  records: number;
  tasks: { share: number; inMemory: boolean; spills: number; records: number; leasePeak: number; leaseLimit: number }[];
  spills: { tasks: number; files: number; bytes: number };
  verification: {
    ok: boolean; sorted: boolean; recordsIn: number; recordsOut: number; checksumIn: string; checksumOut: string;
    firstBaselineMismatch: number;
  };
  audit: { ok: boolean; problems: string[] };
  tempDir: string;
  tempRemoved: boolean;
}

/** Run the showcase; `whileRunning` is called once with the child (to send it a signal). */
function showcase(args: string[], whileRunning?: (kill: (s: NodeJS.Signals) => void) => Promise<void>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/showcase.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    whileRunning?.((s) => child.kill(s)).catch(reject);
  });
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

let dirs: string[] = [];
function freshTmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'showcase-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** The default job at 2 MiB, seed 1, run once for the tests that look at it. */
let defaultJob: Promise<{ r: Result; tmp: string }> | undefined;
function defaultRun(): Promise<{ r: Result; tmp: string }> {
  defaultJob ??= (async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'showcase-test-'));
    return { r: await showcase(['--size', '2MiB', '--seed', '1', '--json', '--tmpdir', tmp]), tmp };
  })();
  return defaultJob;
}
afterAll(async () => {
  if (defaultJob !== undefined) rmSync((await defaultJob).tmp, { recursive: true, force: true });
});

describe('npm start: the parallel external sort', () => {
  it('is built: the task module exists as JavaScript', () => {
    expect(existsSync(BUILT_TASK)).toBe(true);
  });

  it('sorts 2 MiB, verifies it, spills on the larger shares only, and leaves no temporary file', async () => {
    const { r, tmp } = await defaultRun();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    const v = s.verification;
    expect(v.ok).toBe(true);
    expect(v.sorted).toBe(true);
    expect(s.records).toBe((2 * 1024 * 1024) / 16);
    expect(v.recordsIn).toBe(s.records);
    expect(v.recordsOut).toBe(s.records);
    expect(v.checksumOut).toBe(v.checksumIn);
    expect(v.firstBaselineMismatch).toBe(-1);
    // The default task memory is twice the mean share: the larger shares spill, the others do not.
    expect(s.tasks.length).toBe(8);
    expect(s.spills.tasks).toBeGreaterThan(0);
    expect(s.spills.tasks).toBeLessThan(s.tasks.length);
    for (const t of s.tasks) {
      if (t.inMemory) expect(t.spills).toBe(0);
      else expect(t.spills).toBeGreaterThanOrEqual(2);
      expect(t.leasePeak).toBeLessThanOrEqual(t.leaseLimit);
    }
    expect(s.spills.files).toBe(s.tasks.reduce((n, t) => n + t.spills, 0));
    expect(s.tasks.reduce((n, t) => n + t.records, 0)).toBe(s.records);
    expect(s.audit).toEqual({ ok: true, problems: [] });
    expect(s.tempRemoved).toBe(true);
    expect(s.tempDir.startsWith(tmp)).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('with task memory for whole shares nothing spills; the same seed gives the same data, another seed other data', async () => {
    const tmp = freshTmp();
    const flags = ['--size', '2MiB', '--json', '--tmpdir', tmp, '--tasks', '3', '--task-memory', '2MiB'];
    const [same, other] = await Promise.all([showcase([...flags, '--seed', '1']), showcase([...flags, '--seed', '2'])]);
    expect(same.code, same.stderr).toBe(0);
    expect(other.code, other.stderr).toBe(0);
    const [a, b] = [same, other].map((r) => JSON.parse(r.stdout) as Summary) as [Summary, Summary];
    const first = JSON.parse((await defaultRun()).r.stdout) as Summary;
    expect(a.spills).toEqual({ tasks: 0, files: 0, bytes: 0 });
    expect(a.tasks.every((t) => t.inMemory)).toBe(true);
    expect(a.verification.ok && b.verification.ok).toBe(true);
    expect(a.verification.checksumIn).toBe(first.verification.checksumIn);
    expect(b.verification.checksumIn).not.toBe(first.verification.checksumIn);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it.each([
    [['--size', 'banana'], '--size must be a size'],
    [['--size', '1KiB'], '--size must be from 64KiB to 2GiB'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--slots', '0'], '--slots must be an integer from 1 to 64'],
    [['--tasks', '2.5'], '--tasks must be an integer from 1 to 256'],
    [['--seed', '-1'], '--seed'],
    [['--inject', 'explode'], "--inject must be 'fail', 'crash' or 'stall'"],
    [['--size', '4MiB', '--task-memory', '64KiB'], '--task-memory is too small'],
    [['positional'], 'positional'],
  ])('bad flags %j: a usage error that names the flag', (args, message) => {
    expect(() => planJob(parseOptions(args) as ShowcaseOptions)).toThrow(UsageError);
    expect(() => planJob(parseOptions(args) as ShowcaseOptions)).toThrow(message);
  });

  it('a bad flag on the command line: the message and the usage on stderr, exit code 2', async () => {
    const r = await showcase(['--size', 'banana', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("showcase: --size must be a size such as 64MiB, 512KiB or 1GB (got 'banana')");
    expect(r.stderr).toContain('usage: npm start -- [options]');
  });

  it('--help is the usage', () => {
    expect(parseOptions(['--help'])).toEqual({ help: true });
    expect(parseOptions(['-h'])).toEqual({ help: true });
    for (const flag of ['--size', '--seed', '--slots', '--tasks', '--task-memory', '--tmpdir', '--json', '--inject']) expect(USAGE).toContain(flag);
  });

  it('a task that fails after spilling: exit code 1, the error, and no temporary file left', async () => {
    const tmp = freshTmp();
    const r = await showcase(['--size', '2MiB', '--seed', '3', '--tmpdir', tmp, '--inject', 'fail']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('injected failure after spilling run 0');
    expect(r.stderr).toContain('temporary files removed');
    expect(filesUnder(tmp)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a task whose thread dies after spilling (its files left behind): exit code 1, and the directory is removed', async () => {
    const tmp = freshTmp();
    const r = await showcase(['--size', '2MiB', '--seed', '5', '--tmpdir', tmp, '--inject', 'crash']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_TASK_CRASHED');
    expect(r.stderr).toContain('temporary files removed');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('Ctrl-C while a task holds spill files: exit code 130, and no temporary file left', async () => {
    const tmp = freshTmp();
    let seen: string[] = [];
    const r = await showcase(['--size', '2MiB', '--seed', '4', '--tmpdir', tmp, '--inject', 'stall'], async (kill) => {
      // The stalled task has written its first spill file and waits for the abort.
      const deadline = Date.now() + 30_000;
      while ((seen = filesUnder(tmp)).length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
      kill('SIGINT');
    });
    expect(seen.some((f) => f.endsWith('.bin'))).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted: temporary files removed');
    expect(filesUnder(tmp)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
