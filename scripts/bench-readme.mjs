#!/usr/bin/env node
// Copy the goal rows of the last full bench run (bench/results/latest.json + latest.meta.json)
// into README.md, between the markers <!-- bench:start --> and <!-- bench:end -->, so the
// README's table is always the measured one. Run after `npm run bench`: `npm run bench:readme`.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const rows = JSON.parse(readFileSync(new URL('bench/results/latest.json', root), 'utf8'));
const meta = JSON.parse(readFileSync(new URL('bench/results/latest.meta.json', root), 'utf8'));
const readmeUrl = new URL('README.md', root);
const readme = readFileSync(readmeUrl, 'utf8');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} … ${END} markers`);

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));
const ratio = (v) => `${fmt(v)}x`;
const verdict = (r) =>
  r.goal === null ? 'info' : !r.details.reliable ? 'UNRELIABLE' : r.ratio >= r.goal ? 'met' : 'missed';
const m = meta.suites[0]?.machine;
const dates = meta.suites.map((s) => s.date.slice(0, 16).replace('T', ' '));
const loads = meta.suites.flatMap((s) => [s.loadAvgBefore[0], s.loadAvgAfter[0]]);
const quick = meta.suites.some((s) => s.quick);
const commits = [...new Set(meta.suites.map((s) => `${s.commit}${s.dirty ? ' (uncommitted changes)' : ''}`))];

const lines = [
  `Measured on ${m ? `${m.cpuCount} x ${m.cpuModel} (available parallelism ${m.availableParallelism}), ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.platform}, Node ${m.node}` : 'an unknown machine'}`,
  `from ${dates[0]} to ${dates.at(-1)} UTC, commit ${commits.join(', ')}, load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}` +
    `${quick ? ' (**--quick** run: rough numbers)' : ''}; \`npm run bench\`. Ratios > 1 favour segment-arena; each is the median of per-rep ratios with its baseline measured alternately in the same run (range in brackets).`,
  '',
  '| id | subject | baseline | ratio | goal | verdict |',
  '|---|---|---|--:|--:|---|',
  ...rows
    .filter((r) => r.goal !== null)
    .map((r) => {
      const d = r.details;
      return `| ${r.id} | ${d.subject}: ${fmt(d.value)} ${r.unit} | ${r.baseline}: ${fmt(d.baselineValue)} ${r.unit} | ${ratio(r.ratio)} (${ratio(d.ratioMin)}–${ratio(d.ratioMax)}) | ${ratio(r.goal)} | ${verdict(r)} |`;
    }),
  '',
  `Every row, with the info rows that explain these (protocol floor, other allocators, transfer lists, wait modes, memcpy probe), is in [bench/results/latest.md](bench/results/latest.md).`,
  '',
];
writeFileSync(readmeUrl, `${readme.slice(0, a + START.length)}\n${lines.join('\n')}${readme.slice(b)}`);
console.log(`README.md: ${rows.filter((r) => r.goal !== null).length} goal rows from bench/results/latest.json`);
