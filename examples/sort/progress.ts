/**
 * The progress bar (cli-progress), one phase at a time, on stderr. Off when stderr is not a
 * terminal or the summary goes out as JSON: then every call does nothing.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Start a phase of `total` units. */
  phase(name: string, total: number, unit: string): void;
  /** Units done so far in the phase (and spill files written, in the sort phase). */
  update(done: number, spills?: number): void;
  /** Take the bar off the screen. */
  stop(): void;
}

export const NO_PROGRESS: Progress = { phase: () => {}, update: () => {}, stop: () => {} };

export function progressBar(): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: ' {phase} |{bar}| {percentage}% | {value}/{total} {unit}{spills} | {duration_formatted}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    phase(name, total, unit) {
      if (running) bar.stop();
      bar.start(total, 0, { phase: name.padEnd(8), unit, spills: '' });
      running = true;
    },
    update(done, spills) {
      if (running) bar.update(done, spills === undefined ? {} : { spills: ` | spill files ${spills}` });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
