/**
 * The site build is gated on its notes: `deno task site` exits 1 and writes nothing
 * when a note fails or is empty, naming it; with `--allow-failing-notes` it builds and
 * every page names the failing note. (The notes live in the ignored `.faultline/`, as a
 * note may import only from inside the repository.)
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "../literate/mod.ts";
import { buildSite, siteMain } from "../site/build.ts";

const ROOT_DIR = fileURLToPath(ROOT);
const decoder = new TextDecoder();

/** A fresh docs folder with `notes` (file name → Markdown), and an out folder. */
async function docs(notes: Record<string, string>): Promise<{ dir: string; out: string }> {
  const work = join(ROOT_DIR, ".faultline");
  await Deno.mkdir(work, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: work, prefix: "site-build-test-" });
  const dir = join(tmp, "docs");
  await Deno.mkdir(dir);
  for (const [name, text] of Object.entries(notes)) await Deno.writeTextFile(join(dir, name), text);
  return { dir, out: join(tmp, "site") };
}

/** `deno task site` with `args`, in a subprocess. */
async function site(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "site/build.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const FAILING = '# Broken\n\n```ts\nthrow new Error("boom");\n```\n';
const PASSING = "# Start\n\nSee [the broken note](broken.md).\n";

Deno.test("deno task site exits 1 when a note fails, naming it, and writes nothing", async () => {
  const { dir, out } = await docs({ "index.md": PASSING, "broken.md": FAILING });
  try {
    const r = await site("--docs", dir, "--out", out);
    assert.equal(r.code, 1, r.stderr);
    const path = relative(ROOT_DIR, join(dir, "broken.md"));
    assert.ok(
      r.stderr.includes(
        `site: a note fails: ${path}; the site is not built (run their tests: ` +
          "deno task test:notes; or build anyway with --allow-failing-notes)",
      ),
      r.stderr,
    );
    assert.equal(r.stdout, "");
    assert.equal(await exists(join(out, "index.html")), false);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("an empty note is an error naming the file", async () => {
  const { dir, out } = await docs({ "index.md": PASSING, "empty.md": " \n\n" });
  try {
    const r = await site("--docs", dir, "--out", out);
    assert.equal(r.code, 1, r.stderr);
    const path = relative(ROOT_DIR, join(dir, "empty.md"));
    assert.ok(
      r.stderr.includes(
        `site: ${path}: the note is empty (a note needs at least a "# Title" line)`,
      ),
      r.stderr,
    );
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("--allow-failing-notes builds, and every page names the failing note", async () => {
  const { dir, out } = await docs({ "index.md": PASSING, "broken.md": FAILING });
  try {
    const result = await buildSite({
      docsDir: dir,
      outDir: out,
      matrix: [],
      allowFailingNotes: true,
    });
    assert.deepEqual(result.notes.map((n) => n.passed), [false, true]);
    assert.deepEqual(result.pages, [
      "index.html",
      "matrix.html",
      "notes/broken.html",
      "notes/index.html",
      "playground.html",
    ]);
    for (const page of result.pages) {
      const html = await Deno.readTextFile(join(out, page));
      const href = page.startsWith("notes/") ? "../notes/broken.html" : "notes/broken.html";
      assert.ok(
        html.includes(
          `<p class="failing-notes" role="alert"><strong>Built with failing notes:</strong> ` +
            `<a href="${href}">Broken</a> ✗. What those notes show was not confirmed by the checker.</p>`,
        ),
        page,
      );
    }
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("deno task site: an unknown flag is bad usage (exit 2)", async () => {
  const lines: string[] = [];
  assert.equal(await siteMain(["--allow-failing"], (l) => lines.push(l)), 2);
  assert.match(lines.join("\n"), /^site: Unknown option '--allow-failing'/);
});
