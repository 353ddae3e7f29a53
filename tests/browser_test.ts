/**
 * What the browser tests (`site_browser_test.ts`, `playground_browser_test.ts`) share:
 * finding Chromium (installing Debian's package where it is missing), and running a
 * browser session in a process of its own (`deno run -A`), since playwright-core reads
 * `/proc` and the home directory as it loads, which the test run's permissions do not
 * allow. It loads no playwright-core itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Chromium's path; installs Debian's package first where it is missing. */
export async function ensureChromium(): Promise<string> {
  const path = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
  try {
    await Deno.stat(path);
    return path;
  } catch {
    const { code, stdout, stderr } = await new Deno.Command("bash", {
      args: [join(ROOT, "tests/install_chromium.sh")],
      env: { CHROMIUM: path },
    }).output();
    const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
    if (code !== 0) throw new Error(`no Chromium for the browser test: ${text.trim()}`);
    return path;
  }
}

/**
 * Runs the session `script` (relative to the root) on `options` in a process of its
 * own, and reads what it saw from `options.report`.
 */
export async function runBrowserSession<T>(
  script: string,
  options: { readonly report: string },
): Promise<T> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, script), JSON.stringify(options)],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0, "the browser session failed (its error is above)");
  return JSON.parse(await Deno.readTextFile(options.report));
}
