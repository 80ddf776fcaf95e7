/**
 * Command line of the bench dispatcher (`npm run bench -- [flags] [suite ...]`).
 *
 * `parseBenchArgs` turns argv into options or throws a `UsageError` (run.ts prints it with
 * the usage and exits with code 2). Suites are named with `--suite NAME` (repeatable, or
 * comma-separated) or as bare words; they run in registry order whatever the order given.
 */
import { parseArgs } from 'node:util';
import type { Suite } from './types.js';

export interface BenchArgs {
  readonly help: boolean;
  readonly quick: boolean;
  readonly json: boolean;
  /** The suites to run, in registry order (all of them when none was named). */
  readonly suites: readonly Suite[];
  /** Where results go; undefined: the default for the mode (see `defaultOutDir` in run.ts). */
  readonly out: string | undefined;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function usage(suites: readonly Suite[]): string {
  const width = Math.max(10, ...suites.map((s) => s.name.length));
  return [
    'usage: npm run bench -- [--quick] [--suite NAME[,NAME...]]... [--json] [--out DIR] [NAME ...]',
    '  --quick        short smoke run (seconds per suite; rough numbers); results go to bench/results/quick/',
    '  --suite NAME   run only this suite (repeatable, or comma-separated; bare names work too)',
    '  --json         print the rows as a JSON array on stdout; the table and progress go to stderr',
    '  --out DIR      write results to DIR (default bench/results, or bench/results/quick with --quick)',
    '  -h, --help     this message',
    'suites:',
    ...suites.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
  ].join('\n');
}

export function parseBenchArgs(argv: readonly string[], registry: readonly Suite[]): BenchArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    // node:util parseArgs says what is wrong ("Unknown option '--x'", "argument missing"); its
    // advice on positionals that start with '-' does not apply here.
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(message.replace(/\. To specify a positional argument[\s\S]*$/, ''));
  }
  const { values, positionals } = parsed;
  const names = [...(values.suite ?? []), ...positionals].flatMap((n) => n.split(',')).map((n) => n.trim()).filter((n) => n !== '');
  const unknown = [...new Set(names.filter((n) => !registry.some((s) => s.name === n)))];
  if (unknown.length > 0) {
    throw new UsageError(`unknown suite${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} (known: ${registry.map((s) => s.name).join(', ')})`);
  }
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out needs a directory');
  return {
    help: values.help === true,
    quick: values.quick === true,
    json: values.json === true,
    suites: names.length === 0 ? registry : registry.filter((s) => names.includes(s.name)),
    out: values.out,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      suite: { type: 'string', multiple: true },
      out: { type: 'string' },
    },
  });
}
