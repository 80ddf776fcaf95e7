/**
 * Spill files: a sorted run written from segments to a temporary file, and read back through a
 * PageSource that refills ONE segment of the task's lease from the file (Flink's spilling
 * channel reader, in miniature). Both sides do I/O straight from and into arena memory: a
 * segment's raw Uint8Array is a view of the SharedArrayBuffer, and node:fs takes it as it is.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { Lease, MemorySegment, Page, PageSource } from '../../src/index.js';

/** Write the first `length` bytes of `segments` to a new file at `path` (which must not exist). */
export function writeRunFile(path: string, segments: readonly MemorySegment[], length: number): void {
  const fd = openSync(path, 'wx');
  try {
    let left = length;
    for (const seg of segments) {
      if (left === 0) break;
      const n = Math.min(seg.size, left);
      const bytes = seg.as(Uint8Array);
      for (let done = 0; done < n; ) done += writeSync(fd, bytes, done, n - done);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The pages of a run file, one segment at a time: each call to next() refills the same segment
 * with the next bytes of the file. close() closes the file and releases the segment.
 */
export class FileRunSource implements PageSource {
  private readonly lease: Lease;
  private readonly fd: number;
  private segment: MemorySegment | undefined;
  private at = 0;

  constructor(path: string, lease: Lease) {
    this.lease = lease;
    this.segment = lease.allocate();
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      lease.release(this.segment);
      throw e;
    }
  }

  next(): Page | undefined {
    const seg = this.segment;
    if (seg === undefined) return undefined;
    const n = readSync(this.fd, seg.as(Uint8Array), 0, seg.size, this.at);
    if (n === 0) return undefined;
    this.at += n;
    return { segment: seg, length: n };
  }

  close(): void {
    if (this.segment === undefined) return;
    closeSync(this.fd);
    this.lease.release(this.segment);
    this.segment = undefined;
  }
}

/** Remove files, ignoring ones already gone. */
export function removeFiles(paths: readonly string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}
