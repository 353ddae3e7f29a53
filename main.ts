/**
 * faultline's command line, run by the wrapper `./faultline` at the repository root:
 * `./faultline` alone is the main job (the verdict matrix, then the site),
 * `./faultline <command>` a command; `./faultline help` lists them. The commands live
 * in `cli/`.
 *
 * @module
 */

import { denoIo, main } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIo()));
}
