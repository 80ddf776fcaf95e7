/**
 * A short demo of the arena (until the showcase job lands): one arena, two leases, a segment
 * handed to a worker by handle, written there, read back here without a copy.
 */
import { Worker } from 'node:worker_threads';
import { Arena } from '../src/index.js';

const arena = new Arena({ size: '16MiB', segmentSize: '64KiB' });
const lease = arena.lease({ name: 'demo', limit: '1MiB' });
const seg = lease.allocate();
const worker = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   import(workerData.url).then(({ Arena }) => {
     const arena = Arena.attach(workerData.arena);
     const seg = arena.segment(workerData.handle);
     const view = seg.as(Float64Array);
     for (let i = 0; i < view.length; i++) view[i] = i * 0.5;
     arena.close();
     parentPort.postMessage('done');
   });`,
  { eval: true, workerData: { url: new URL('../dist/src/index.js', import.meta.url).href, arena: arena.descriptor, handle: seg.handle } },
);
await new Promise((resolve, reject) => {
  worker.once('message', resolve);
  worker.once('error', reject);
});
await worker.terminate();
const view = seg.as(Float64Array);
let sum = 0;
for (let i = 0; i < view.length; i++) sum += view[i]!;
console.log(`a worker filled segment ${seg.index} (${seg.size} bytes) in place; sum = ${sum}`);
console.log(`lease '${lease.name}': used ${lease.used} of ${lease.limit} bytes`);
lease.close();
const report = arena.audit();
console.log(`audit: ${report.ok ? 'ok' : report.problems.join('; ')} (free ${report.free}, cached ${report.cached}, total ${report.total})`);
arena.close();
