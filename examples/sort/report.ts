/**
 * The showcase's printed summary (text; `--json` prints the JobSummary itself).
 */
import type { JobSummary } from './job.js';
import type { SortPlan } from './plan.js';

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const int = (n: number): string => n.toLocaleString('en-US');
const millions = (n: number): string => `${(n / 1e6).toFixed(2)} M`;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function formatReport(s: JobSummary, plan: SortPlan, temp: { dir: string; removed: boolean }): string {
  const shareBytes = plan.shares.map((x) => x.records * 16);
  const v = s.verification;
  const lines = [
    'segment-arena showcase: a parallel external sort',
    '',
    `data        ${mib(s.bytes)}: ${int(s.records)} records of 16 bytes (float64 key, uint32 id, uint32 stamp), seed ${s.seed}`,
    `plan        ${s.tasks.length} tasks on ${s.slots} slots; shares of ${mib(Math.min(...shareBytes))} to ${mib(Math.max(...shareBytes))} (uneven, like real input splits)`,
    `            task memory ${mib(s.taskMemory)} (each task lease's hard limit): a share sorts in memory when 2 × share fits`,
    '            (records + radix scratch); a larger one spills sorted runs to temporary files and merges them',
    `arena       ${mib(s.arenaSize)} in ${s.segmentSize / 1024} KiB segments, created by the TaskManager; input handed to the tasks as`,
    `            ${int(s.handoff.inputSegments)} segment handles (read in place), ${int(s.handoff.runSegments)} run segments moved back zero-copy`,
    '',
    `phases      generate ${secs(s.ms.generate)} · sort ${secs(s.ms.sort)} · merge ${secs(s.ms.merge)} · baseline ${secs(s.ms.baseline)} · verify ${secs(s.ms.verify)}`,
    `throughput  sort + merge of ${mib(s.bytes)} in ${s.throughput.seconds.toFixed(2)} s: ${s.throughput.megabytesPerSecond.toFixed(1)} MB/s, ${millions(s.throughput.recordsPerSecond)} records/s`,
    `baseline    Float64Array.prototype.sort of the same ${int(s.records)} keys, one thread: ${s.baseline.seconds.toFixed(2)} s, ${millions(s.baseline.keysPerSecond)} keys/s`,
    `ratio       ${s.baseline.ratio.toFixed(2)}x the baseline (its time ÷ ours, same run). It sorts 8-byte keys natively on one thread;`,
    `            the job moves 16-byte records through ${s.slots} slots, spill files and a final single-threaded merge.`,
    '',
    'tasks',
    table([
      ['share', 'slot', 'records', 'size', 'path', 'spill files', 'spilled', 'lease peak / limit', 'time'],
      ...s.tasks.map((t) => [
        String(t.share), String(t.slot), int(t.records), mib(t.records * 16), t.inMemory ? 'in memory' : 'spilled + merged',
        String(t.spills), t.spills === 0 ? '-' : mib(t.spilledBytes), `${mib(t.leasePeak)} / ${mib(t.leaseLimit)}`, secs(t.ms),
      ]),
    ]),
    '',
    'slots',
    table([
      ['slot', 'tasks', 'spilled', 'spill files', 'peak task lease / limit', 'peak admitted / slotMemory'],
      ...s.slotStats.map((x) => [
        String(x.slot), String(x.tasks), String(x.spilledTasks), String(x.spills), `${mib(x.leasePeak)} / ${mib(x.leaseLimit)}`,
        `${mib(x.admittedPeak)} / ${mib(x.slotMemory)}`,
      ]),
    ]),
    `spills      ${s.spills.tasks} of ${s.tasks.length} tasks spilled: ${s.spills.files} files, ${mib(s.spills.bytes)} written and read back`,
    '',
    `verified    ${v.ok ? 'OK' : 'FAILED'}: ${v.sorted ? 'sorted' : `NOT sorted (record ${v.firstUnsorted})`}; records in ${int(v.recordsIn)}, out ${int(v.recordsOut)}; ` +
      `checksum in ${v.checksumIn}, out ${v.checksumOut}`,
    `            ${v.firstBaselineMismatch < 0 ? "every key equals the baseline's sorted key at the same place" : `key ${v.firstBaselineMismatch} differs from the baseline's`}`,
    `arena       audit after close: ${s.audit.ok ? 'ok' : s.audit.problems.join('; ')}`,
    `temp files  ${temp.removed ? 'removed' : 'NOT removed'} (${temp.dir})`,
  ];
  return lines.join('\n');
}
