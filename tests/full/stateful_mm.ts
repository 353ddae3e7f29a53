/**
 * The stateful search against Optimal-DPOR (tests/stateful_agreement.ts) on a pair whose
 * stateful search takes a minute: MREMAP_DONTUNMAP's move of a VMA that keeps its
 * `anon_vma`, under 6.4's per-VMA locks.
 *
 * @module
 */

import { DEFAULT_CONFIG } from "../../mod.ts";
import { stepsAgreeingWithStateful } from "../stateful_agreement.ts";

Deno.test("the stateful search finds the violation kinds Optimal-DPOR finds, on a longer pair", (t) =>
  stepsAgreeingWithStateful(t, [["per-vma-lock", "fault-vs-mremap-dontunmap", DEFAULT_CONFIG]]));
