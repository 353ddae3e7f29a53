/**
 * faultline: an executable design document for Linux page-fault locking.
 *
 * The layers, each usable alone: the explorer (`explore`), the simulated mm core,
 * the strategies from the seed mail and after, the scenario library, and the
 * functions that run strategies against scenarios.
 *
 * @example Michel's race, found by exploration.
 * ```ts
 * import assert from "node:assert/strict";
 * import { check } from "./mod.ts";
 * const c = check("rcu-gfp-nowait", "fault-vs-munmap");
 * assert.equal(c.outcome, "violation:store-into-detached-table");
 * assert.equal(c.result.exhaustive, true);
 * ```
 *
 * @module
 */

export * from "./explore/mod.ts";
export * from "./mm/mod.ts";
export * from "./strategies/mod.ts";
export * from "./scenarios/mod.ts";
export * from "./faultline.ts";
export * from "./pool.ts";
export * from "./results_store.ts";
