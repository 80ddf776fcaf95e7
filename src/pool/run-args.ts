/**
 * The arguments of `tm.run()` / `tm.spawn()` that are checked before anything is queued: the
 * task module (a path or a `file:` URL, turned into a `file:` URL string, which is what a slot
 * imports), the export name and the option bag. Every refusal is ERR_INVALID_ARGUMENT naming
 * the argument.
 */
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArgument } from '../errors.js';

/** Resolves task modules to `file:` URLs, remembering up to 1024 paths (a run names the same few). */
export class ModuleUrls {
  private readonly cache = new Map<string, string>();

  resolve(task: string | URL): string {
    if (task instanceof URL) {
      if (task.protocol !== 'file:') throw invalidArgument('task', 'must be a file: URL or a path', task.href);
      return task.href;
    }
    if (typeof task !== 'string' || task === '') throw invalidArgument('task', 'must be a path or a file: URL', task);
    let url = this.cache.get(task);
    if (url === undefined) {
      // A scheme of two letters or more (one letter is a Windows drive) other than file: is refused.
      if (/^[a-z][a-z0-9+.-]+:/i.test(task) && !task.startsWith('file:')) {
        throw invalidArgument('task', 'must be a file: URL or a path', task);
      }
      url = task.startsWith('file:') ? new URL(task).href : pathToFileURL(resolvePath(task)).href;
      if (this.cache.size < 1024) this.cache.set(task, url);
    }
    return url;
  }
}

/** The option bag of a call: undefined or a plain object with only the keys the call knows. */
export function checkOptions(options: unknown, keys: ReadonlySet<string>): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', 'must be an object', options);
  for (const key of Object.keys(options)) {
    if (!keys.has(key)) throw invalidArgument(key, 'is not an option of this call', (options as Record<string, unknown>)[key]);
  }
  return options as Record<string, unknown>;
}

/** The export a slot calls: `'default'` unless `name` was given. */
export function exportName(name: unknown): string {
  if (name === undefined) return 'default';
  if (typeof name !== 'string' || name === '') throw invalidArgument('name', 'must be a non-empty string', name);
  return name;
}
