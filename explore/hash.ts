/**
 * A 128-bit string hash for the visited-state table of {@link ./stateful.ts}: states
 * are stored as their hash, as Spin's hash compaction stores them (Holzmann, "The
 * Spin Model Checker", 2003, §9), so that a state costs a few dozen bytes however
 * large the model is. Two distinct states share a hash with probability about
 * n² / 2¹²⁹ for n states: below 10⁻²⁶ for a million, which is the price of merging
 * them by mistake (the search would skip what follows the second).
 *
 * The mixing is cyrb128 (bryc, public domain): four 32-bit lanes, each a
 * multiply-xorshift of every UTF-16 unit. It runs in Deno and in the browser alike
 * (the playground), which a `node:crypto` digest would not.
 *
 * @module
 */

/** Four 32-bit lanes. */
export type Hash128 = readonly [number, number, number, number];

/**
 * Hashes `text` into four 32-bit lanes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hash128 } from "./hash.ts";
 * assert.deepEqual(hash128("PUD@0x0[1]=PMD"), hash128("PUD@0x0[1]=PMD"));
 * assert.notDeepEqual(hash128("PUD@0x0[1]=PMD"), hash128("PUD@0x0[2]=PMD"));
 * ```
 */
export function hash128(text: string): Hash128 {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** The lanes as 32 hex digits. */
export function hex128(h: Hash128): string {
  return h.map((lane) => lane.toString(16).padStart(8, "0")).join("");
}
