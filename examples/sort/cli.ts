/**
 * The showcase's entry logic: options → plan → a temporary directory → the job → the report.
 * Returns the exit code: 0 verified, 1 failed (or not verified), 2 bad command line, 130 Ctrl-C.
 *
 * The temporary directory (spill files) is removed on every path: after the job (which has
 * closed the TaskManager: no thread writes into it any more), after a failure, and after Ctrl-C.
 * The first Ctrl-C aborts the tasks (they stop at their next checkpoint and remove their files)
 * and lets the job unwind; a second one removes the directory at once and exits.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSortJob, type JobSummary } from './job.js';
import { USAGE, UsageError, parseOptions, type ShowcaseOptions } from './options.js';
import { planJob, type SortPlan } from './plan.js';
import { NO_PROGRESS, progressBar } from './progress.js';
import { formatReport } from './report.js';

export async function main(argv: readonly string[]): Promise<number> {
  let options: ShowcaseOptions;
  let plan: SortPlan;
  try {
    const parsed = parseOptions(argv);
    if ('help' in parsed) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    options = parsed;
    plan = planJob(options);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`showcase: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }

  let dir: string;
  try {
    dir = mkdtempSync(join(options.tmpdir, 'segment-arena-sort-'));
  } catch (e) {
    process.stderr.write(`showcase: cannot make a temporary directory in ${options.tmpdir}: ${(e as Error).message}\n`);
    return 1;
  }
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  const progress = options.json || !process.stderr.isTTY ? NO_PROGRESS : progressBar();
  const interrupt = new AbortController();
  let sigints = 0;
  const onSigint = (): void => {
    if (++sigints > 1) {
      removeDir();
      process.exit(130);
    }
    progress.stop();
    process.stderr.write('\ninterrupted: stopping the tasks and removing temporary files (Ctrl-C again to quit at once)\n');
    interrupt.abort(new Error('interrupted (Ctrl-C)'));
  };
  process.on('SIGINT', onSigint);

  let summary: JobSummary | undefined;
  let failure: unknown;
  try {
    summary = await runSortJob(options, plan, dir, interrupt.signal, progress);
  } catch (e) {
    failure = e;
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
    removeDir();
  }
  const removed = !existsSync(dir);

  if (summary === undefined) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`interrupted: temporary files ${removed ? 'removed' : 'NOT removed'} (${dir})\n`);
      return 130;
    }
    const err = failure as { code?: string; message?: string } | undefined;
    process.stderr.write(`showcase: the job failed: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? String(failure)}\n`);
    process.stderr.write(`temporary files ${removed ? 'removed' : 'NOT removed'} (${dir})\n`);
    return 1;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...summary, tempDir: dir, tempRemoved: removed }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatReport(summary, plan, { dir, removed })}\n`);
  }
  return summary.verification.ok && summary.audit.ok && removed ? 0 : 1;
}
