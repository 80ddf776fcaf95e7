#!/usr/bin/env node
// Make package-lock.json acceptable to `npm ci` when the registry this project installs from
// lacks other platforms' optional native packages (rollup's @rollup/rollup-<os>-<cpu>).
// npm then cannot record them, and `npm ci` refuses a lock that misses any optional dependency.
// For each such package we record an entry with the os/cpu/libc its name states: npm ci's check
// passes, and npm skips them on any platform they do not match, so they are never fetched.
// Re-run after `npm install` changes the lock: `node scripts/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
const CPU = { arm: 'arm', 'arm-eabi': 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };
let added = 0;
for (const [key, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `node_modules/${name}`;
    if (pkgs[where] || !name.startsWith('@rollup/rollup-')) continue;
    const m = /^@rollup\/rollup-([a-z0-9]+)-(arm-eabi|[a-z0-9]+)(?:-(gnu|musl|msvc|gnueabihf|musleabihf))?$/.exec(name);
    if (!m) throw new Error(`cannot tell the platform of ${name} (needed by ${key || 'the root'})`);
    const [, os, cpu, abi] = m;
    const stub = { version, cpu: [CPU[cpu] ?? cpu], dev: entry.dev ?? undefined, license: 'MIT', optional: true, os: [os] };
    if (abi === 'musl' || abi === 'musleabihf') stub.libc = ['musl'];
    if (abi === 'gnu' || abi === 'gnueabihf') stub.libc = ['glibc'];
    pkgs[where] = stub;
    added++;
  }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: recorded ${added} platform package(s) the registry does not serve`);
