/**
 * The showcase's command line: flags, defaults, validation, and the usage text. Every problem is
 * a {@link UsageError}, which the entry point prints with the usage and exit code 2.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { parseByteSize } from '../../src/index.js';
import type { Injection } from './protocol.js';

export const USAGE = `usage: npm start -- [options]            (or: npx tsx examples/showcase.ts [options])

A parallel external sort on segment-arena: generate records of 16 bytes (a float64 key, a
uint32 id, a uint32 stamp), sort them on a TaskManager whose tasks spill to temporary files when
their memory is too small, merge the runs, verify, and compare with a one-thread sort of the same
keys in a Float64Array.

options:
  --size SIZE          size of the data set: 64MiB, 1GB, … (default 256MiB; 64KiB to 2GiB)
  --seed N             seed of the generator, an integer from 0 to 4294967295 (default 1)
  --slots N            worker threads (slots) of the TaskManager (default: availableParallelism())
  --tasks N            shares the input is cut into, one task each, 1 to 256 (default 8)
  --task-memory SIZE   hard limit of each task's lease (default: 2 × the mean share, so that
                       the shares larger than the mean spill and the others sort in memory)
  --tmpdir DIR         where the job's temporary directory is made (default: the OS's)
  --json               print the summary as JSON, and no progress bar
  --inject KIND        for tests, after the first spill file of the first spilling task:
                       fail (it throws), crash (its thread exits), stall (it waits for Ctrl-C)
  -h, --help           print this text`;

/** A bad command line: printed with {@link USAGE}, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ShowcaseOptions {
  /** Bytes of data (a whole number of records). */
  readonly size: number;
  readonly seed: number;
  readonly slots: number;
  readonly tasks: number;
  /** Bytes, or undefined for the default (2 × the mean share). */
  readonly taskMemory: number | undefined;
  readonly tmpdir: string;
  readonly json: boolean;
  readonly inject: Injection | undefined;
}

export const DEFAULT_SIZE = '256MiB';
const MIN_SIZE = 64 * 1024;
const MAX_SIZE = 2 * 1024 ** 3;

/** Parse argv (without node and the script); `{ help: true }` for -h/--help. */
export function parseOptions(argv: readonly string[]): ShowcaseOptions | { help: true } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        size: { type: 'string' },
        seed: { type: 'string' },
        slots: { type: 'string' },
        tasks: { type: 'string' },
        'task-memory': { type: 'string' },
        tmpdir: { type: 'string' },
        json: { type: 'boolean' },
        inject: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) return { help: true };
  const sizeBytes = size('--size', values.size ?? DEFAULT_SIZE);
  if (sizeBytes < MIN_SIZE || sizeBytes > MAX_SIZE) throw new UsageError(`--size must be from 64KiB to 2GiB (got ${values.size})`);
  const inject = values.inject;
  if (inject !== undefined && inject !== 'fail' && inject !== 'crash' && inject !== 'stall') {
    throw new UsageError(`--inject must be 'fail', 'crash' or 'stall' (got '${inject}')`);
  }
  if (values.tmpdir === '') throw new UsageError('--tmpdir must not be empty');
  return {
    size: sizeBytes - (sizeBytes % 16),
    seed: integer('--seed', values.seed ?? '1', 0, 2 ** 32 - 1),
    slots: integer('--slots', values.slots ?? String(availableParallelism()), 1, 64),
    tasks: integer('--tasks', values.tasks ?? '8', 1, 256),
    taskMemory: values['task-memory'] === undefined ? undefined : size('--task-memory', values['task-memory']),
    tmpdir: values.tmpdir ?? tmpdir(),
    json: values.json === true,
    inject,
  };
}

function size(flag: string, text: string): number {
  try {
    return parseByteSize(text);
  } catch {
    throw new UsageError(`${flag} must be a size such as 64MiB, 512KiB or 1GB (got '${text}')`);
  }
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got '${text}')`);
  return n;
}
