/**
 * Progress of a bench run on stderr: one bar for the whole run when stderr is a terminal,
 * occasional plain lines otherwise (CI logs, pipes, the tests).
 *
 * The overall fraction is (suites done + fraction of the current suite) / suites selected;
 * the current suite reports its fraction and a label through SuiteOptions.progress, and its
 * log lines through SuiteOptions.log (printed above the bar, which is redrawn under them).
 *
 * The bar (cli-progress) is redrawn when a suite reports, at most every 100 ms, and by
 * cli-progress's own timer once a second for the clock: a short write to stderr, never
 * inside a timed region since suites report between reps. Without a terminal nothing is
 * redrawn: a line per suite started and finished, the suites' log lines, and at most one
 * progress line every 15 s.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface RunProgress {
  /** Suite `index` (0-based) of the selection starts. */
  startSuite(index: number, name: string, description: string): void;
  /** The current suite's fraction done (0..1) and what it runs now. */
  update(fraction: number, label: string): void;
  /** A line from the current suite (or from the dispatcher). */
  log(line: string): void;
  /** The current suite finished (or failed: `outcome` says so). */
  endSuite(outcome: string): void;
  /** Removes the bar (call before printing anything else to stderr); idempotent. */
  stop(): void;
}

type Stream = NodeJS.WriteStream;

export function createProgress(suiteCount: number, stream: Stream = process.stderr): RunProgress {
  return stream.isTTY === true ? new BarProgress(suiteCount, stream) : new PlainProgress(suiteCount, stream);
}

const TOTAL = 1000;

/** Suites often start their labels with their own name, which the line already shows. */
function trimLabel(label: string, suite: string): string {
  return label.startsWith(`${suite}: `) ? label.slice(suite.length + 2) : label;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

class BarProgress implements RunProgress {
  private readonly multi: MultiBar;
  private readonly bar: SingleBar;
  private index = 0;
  private name = '';
  private lastDraw = 0;
  private stopped = false;
  /** Ctrl-C or a kill: restore the cursor and line wrapping, then die of the signal as usual. */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.stop();
    process.kill(process.pid, signal);
  };

  constructor(private readonly count: number, stream: Stream) {
    this.multi = new MultiBar(
      {
        stream,
        format: ' {bar} {percentage}% | {step} {suite}: {label} | {duration_formatted}',
        fps: 1,
        barsize: 30,
        hideCursor: true,
        clearOnComplete: true,
        // Not cli-progress's own: its handler only stops the bar, and a SIGINT listener
        // keeps Node from exiting (onSignal re-raises the signal instead).
        gracefulExit: false,
        autopadding: true,
      },
      Presets.shades_classic,
    );
    this.bar = this.multi.create(TOTAL, 0, { step: '', suite: '', label: 'starting' });
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  startSuite(index: number, name: string): void {
    this.index = index;
    this.name = name;
    this.set(0, 'starting', true);
  }

  update(fraction: number, label: string): void {
    this.set(fraction, label, false);
  }

  log(line: string): void {
    if (this.stopped) return;
    this.multi.log(`  ${line}\n`);
    this.draw(true);
  }

  endSuite(outcome: string): void {
    this.log(`${this.name}: ${outcome}`);
    this.set(1, 'done', true);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    this.multi.stop();
  }

  private set(fraction: number, label: string, force: boolean): void {
    if (this.stopped) return;
    const overall = (this.index + clamp01(fraction)) / this.count;
    this.bar.update(Math.round(overall * TOTAL), { step: `[${this.index + 1}/${this.count}]`, suite: this.name, label: trimLabel(label, this.name) });
    this.draw(force);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.multi.update();
  }
}

class PlainProgress implements RunProgress {
  private index = 0;
  private name = '';
  private lastLine = 0;

  constructor(private readonly count: number, private readonly stream: Stream) {}

  startSuite(index: number, name: string, description: string): void {
    this.index = index;
    this.name = name;
    this.lastLine = Date.now();
    this.write(`bench [${index + 1}/${this.count}] ${name}: ${description}`);
  }

  update(fraction: number, label: string): void {
    const now = Date.now();
    if (now - this.lastLine < 15_000) return;
    this.lastLine = now;
    const overall = (this.index + clamp01(fraction)) / this.count;
    this.write(`bench ${Math.floor(overall * 100)}% [${this.index + 1}/${this.count}] ${this.name}: ${trimLabel(label, this.name)}`);
  }

  log(line: string): void {
    this.write(`  ${line}`);
  }

  endSuite(outcome: string): void {
    this.write(`bench [${this.index + 1}/${this.count}] ${this.name}: ${outcome}`);
  }

  stop(): void {}

  private write(line: string): void {
    this.stream.write(`${line}\n`);
  }
}
