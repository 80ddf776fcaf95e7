import { describe, expect, it } from 'vitest';
import { Arena, parseByteSize, type ArenaError, type ArenaOptions } from '../src/index.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as ArenaError).code;
  }
  return undefined;
}

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('parseByteSize', () => {
  it.each([
    [0, 0],
    [4096, 4096],
    ['512', 512],
    ['512B', 512],
    ['32KiB', 32 * 1024],
    ['64MiB', 64 * 2 ** 20],
    ['1GiB', 2 ** 30],
    ['1 GB', 1e9],
    ['2KB', 2000],
    ['1.5KiB', 1536],
    [' 3MB ', 3e6],
  ])('parses %j as %d bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each([[-1], [1.5], [NaN], [Infinity], ['abc'], ['12 kib'], ['1.3B'], ['-4KiB'], [''], [null], [{}], [10n]])(
    'rejects case %# with ERR_INVALID_ARGUMENT',
    (input) => {
      expect(codeOf(() => parseByteSize(input as never))).toBe('ERR_INVALID_ARGUMENT');
    },
  );
});

describe('arena options', () => {
  const bad: Array<[string, ArenaOptions | unknown]> = [
    ['size', {}],
    ['size', { size: 0 }],
    ['size', { size: -4096 }],
    ['size', { size: 'lots' }],
    ['size', { size: 5 * 2 ** 30 }],
    ['size', { size: 100_000 }], // not a whole number of 32 KiB segments
    ['segmentSize', { size: '1MiB', segmentSize: 3000 }],
    ['segmentSize', { size: '1MiB', segmentSize: 2048 }],
    ['segmentSize', { size: '64MiB', segmentSize: '32MiB' }],
    ['segmentSize', { size: '64KiB', segmentSize: '128KiB' }],
    ['maxSize', { size: '1MiB', maxSize: '512KiB' }],
    ['maxSize', { size: '1MiB', maxSize: '5GiB' }],
    ['maxSize', { size: '1MiB', maxSize: 1048576 + 4096 }],
    ['growthFactor', { size: '1MiB', growthFactor: 1 }],
    ['growthFactor', { size: '1MiB', growthFactor: NaN }],
    ['pressureThreshold', { size: '1MiB', pressureThreshold: 0 }],
    ['pressureThreshold', { size: '1MiB', pressureThreshold: 1.5 }],
    ['maxLeases', { size: '1MiB', maxLeases: 0 }],
    ['maxLeases', { size: '1MiB', maxLeases: 2.5 }],
    ['scrub', { size: '1MiB', scrub: 'yes' }],
    ['debug', { size: '1MiB', debug: 1 }],
    ['colour', { size: '1MiB', colour: 'red' }],
    ['options', null],
  ];
  it.each(bad)('a bad %s gives ERR_INVALID_OPTION naming it', (name, options) => {
    expect(codeOf(() => new Arena(options as ArenaOptions))).toBe('ERR_INVALID_OPTION');
    expect(messageOf(() => new Arena(options as ArenaOptions))).toContain(`'${name}'`);
  });

  it('fills defaults: 32 KiB segments, no growth', () => {
    const arena = new Arena({ size: '1MiB' });
    expect(arena.segmentSize).toBe(32 * 1024);
    expect(arena.segmentCount).toBe(32);
    expect(arena.size).toBe(2 ** 20);
    expect(arena.maxSize).toBe(2 ** 20);
    arena.close();
  });

  it.each([['256MiB'], ['1GiB']])('keeps metadata within 0.1 %% of a %s arena at 32 KiB segments', (size) => {
    const arena = new Arena({ size });
    const control = arena.descriptor.control.byteLength;
    expect(control / arena.size).toBeLessThanOrEqual(0.001);
    arena.close();
  });
});

describe('lease options', () => {
  const arena = new Arena({ size: '1MiB', segmentSize: '32KiB' });
  it.each([
    ['limit', { limit: -1 }],
    ['limit', { limit: 'much' }],
    ['reserve', { reserve: 1.5 }],
    ['reserve', { limit: '64KiB', reserve: '96KiB' }],
    ['name', { name: 42 }],
    ['owner', { owner: 'me' }],
  ])('a bad %s gives ERR_INVALID_OPTION and leaves the arena consistent', (_name, options) => {
    expect(codeOf(() => arena.lease(options as never))).toBe('ERR_INVALID_OPTION');
    expect(arena.audit().ok).toBe(true);
    expect(arena.stats().leases).toBe(0);
  });

  it('rounds a limit down to whole segments', () => {
    const lease = arena.lease({ limit: 100_000 });
    expect(lease.limit).toBe(3 * 32 * 1024);
    lease.allocateMany(3);
    expect(codeOf(() => lease.allocate())).toBe('ERR_LEASE_LIMIT');
    expect(lease.close()).toBe(3);
    expect(arena.audit().ok).toBe(true);
  });
});
