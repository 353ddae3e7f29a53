/**
 * faultline's command line: `deno task start` (the verdict matrix, then the site) and
 * `deno task cli <command>`; `deno task cli help` lists the commands. The commands
 * live in `cli/`.
 *
 * @module
 */

import { denoIo, main } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIo()));
}
