/**
 * Named workloads and how to run them under a strategy.
 *
 * @module
 */

export * from "./scenario.ts";
export * from "./library.ts";
export * from "./validate.ts";
