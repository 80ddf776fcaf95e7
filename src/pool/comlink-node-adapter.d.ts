/**
 * Types for comlink's ESM Node adapter. comlink 4.4.2 ships `dist/esm/node-adapter.mjs` with a
 * `.d.ts` (not `.d.mts`) beside it, which TypeScript's NodeNext resolution does not pick up for an
 * `.mjs` import; its UMD twin cannot be default-imported from ESM with the right type. This
 * declares the module with comlink's own types.
 */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { NodeEndpoint } from 'comlink/dist/umd/node-adapter.js';
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
