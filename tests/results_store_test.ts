/**
 * The results store (`results_store.ts`): its key covers every module a pair's
 * exploration loads, a result reads back as a fresh exploration gives it, any changed
 * source or option is a miss, the pool reuses only what it may, and a note run for the
 * site takes registered pairs from the store while a note that changes a registered
 * strategy in place fails instead of being answered for the original.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  check,
  checkPairs,
  openResults,
  optionsKey,
  ResultsStore,
  sourceFiles,
  sourceKey,
} from "../mod.ts";
import { parseDoc, ROOT, runDoc } from "../literate/mod.ts";

const ROOT_DIR = fileURLToPath(ROOT);

/** A copy of the sources in a directory of its own, so that no other run changes them. */
async function sourcesCopy(): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "faultline-results-" });
  for (const file of sourceFiles()) {
    await Deno.mkdir(dirname(`${dir}/${file}`), { recursive: true });
    await Deno.copyFile(`${ROOT_DIR}${file}`, `${dir}/${file}`);
  }
  return pathToFileURL(`${dir}/`);
}

Deno.test("the store's key covers every module a pair's exploration loads", async () => {
  const hashed = new Set(sourceFiles());
  for (const entry of ["pair_worker.ts", "faultline.ts"]) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT_DIR,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info: { modules: { specifier: string }[] } = JSON.parse(
      new TextDecoder().decode(stdout),
    );
    assert.ok(info.modules.length > 10, entry);
    for (const { specifier } of info.modules) {
      assert.ok(specifier.startsWith("file://"), `${entry} loads ${specifier}, not a file`);
      const path = relative(ROOT_DIR, fileURLToPath(specifier));
      assert.ok(hashed.has(path), `${entry} loads ${path}, which the key does not hash`);
    }
  }
});

Deno.test("a stored result reads back whole; another source or option is a miss", async () => {
  const root = await sourcesCopy();
  try {
    const store = new ResultsStore(root);
    const race = check("rcu-gfp-nowait", "fault-vs-munmap");
    const safe = check("mmap-lock", "fault-vs-munmap");
    assert.ok(race.result.counterexample?.trace.steps.length, "a trace to keep");
    assert.equal(store.put([{ check: race, millis: 12 }, { check: safe, millis: 3 }], {}), true);

    // Everything a consumer prints: outcome, executions, exhaustive, the trace, the token.
    assert.deepStrictEqual(store.get("rcu-gfp-nowait", "fault-vs-munmap", {}), {
      check: race,
      millis: 12,
    });
    assert.deepStrictEqual(store.get("mmap-lock", "fault-vs-munmap", {})?.check, safe);
    // The defaults check() and explore() apply are the same key as no options.
    assert.ok(
      store.get("mmap-lock", "fault-vs-munmap", {
        mode: "exhaustive",
        config: safe.config,
        progressEvery: 7,
      }),
    );
    assert.equal(optionsKey({}), optionsKey({ mode: "exhaustive", config: safe.config }));
    // Another search, configuration or pair: not what was stored.
    assert.equal(store.get("mmap-lock", "fault-vs-munmap", { maxExecutions: 3 }), undefined);
    assert.equal(store.get("mmap-lock", "fault-vs-munmap", { mode: "dfs" }), undefined);
    assert.equal(
      store.get("mmap-lock", "fault-vs-munmap", { config: { tableFree: "ipi" } }),
      undefined,
    );
    assert.equal(store.get("mmap-lock", "fault-vs-fault", {}), undefined);
    // A name nothing registers is never stored.
    assert.equal(store.put([{ check: { ...safe, strategy: "mine" }, millis: 1 }], {}), false);

    // One byte of one source changed: another key, and the old results are not read.
    const file = new URL("mm/rwsem.ts", root);
    await Deno.writeTextFile(file, (await Deno.readTextFile(file)) + "\n");
    assert.notEqual(sourceKey(root), store.key);
    const after = new ResultsStore(root);
    assert.equal(after.get("rcu-gfp-nowait", "fault-vs-munmap", {}), undefined);
    // And a writer whose sources changed under it writes nothing.
    assert.equal(store.put([{ check: safe, millis: 3 }], {}), false);
  } finally {
    await Deno.remove(fileURLToPath(root), { recursive: true });
  }
});

Deno.test("the pool records registered pairs and reuses them only when asked", async () => {
  const jobs = [
    { strategy: "rcu-gfp-nowait", scenario: "fault-vs-munmap" },
    { strategy: "vma-rwsem", scenario: "fault-vs-munmap-mmap" },
  ];
  const key = sourceKey();
  const recorded = await checkPairs(jobs, { results: "record", workers: 1 });
  const reused = await checkPairs(jobs, { results: "reuse", workers: 1 });
  const explored = await checkPairs(jobs, { results: "record", workers: 1 });
  for (const [i, job] of jobs.entries()) {
    const pair = `${job.strategy} × ${job.scenario}`;
    assert.equal(recorded[i].reused, undefined, pair);
    assert.equal(explored[i].reused, undefined, `${pair}: "record" never reads`);
    assert.deepStrictEqual(reused[i].check, recorded[i].check, pair);
    // Reused unless another engineer's edit changed the sources meanwhile.
    assert.ok(reused[i].reused === true || sourceKey() !== key, `${pair} was not reused`);
  }
});

Deno.test("a note run for the site takes registered pairs from the store; a changed one fails", async () => {
  const work = new URL(".faultline/", ROOT);
  await Deno.mkdir(work, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: fileURLToPath(work), prefix: "results-note-" });
  const outDir = pathToFileURL(`${dir}/`);
  try {
    // One of the largest pairs, so that exploring it takes far longer than reading it.
    const pair = { strategy: "spf-nowait-seq-sections", scenario: "fault-vs-munmap-mmap" };
    const fresh = check(pair.strategy, pair.scenario);
    const store = openResults();
    // What the store holds is a fresh exploration's: stored again here (the same value).
    store.put([{ check: fresh, millis: 1 }], {});
    const note = "# Reuse\n\n```ts\n" +
      'import { check } from "../mod.ts";\n' +
      `const c = check("${pair.strategy}", "${pair.scenario}");\n` +
      "console.log(c.outcome, c.result.executions, c.result.exhaustive, c.token);\n" +
      "```\n";
    const reusing = await runDoc(parseDoc(note, "docs/reuse.md"), {
      outDir,
      reuseResults: true,
      typeCheck: false,
    });
    const exploring = await runDoc(parseDoc(note, "docs/reuse.md"), { outDir, typeCheck: false });
    const printed = `${fresh.outcome} ${fresh.result.executions} true ${fresh.token}\n`;
    for (const o of [reusing, exploring]) {
      assert.equal(o.passed, true, o.blocks.map((b) => b.message).join("\n"));
      assert.equal(o.blocks[0].output, printed);
      assert.equal(o.blocks[0].explorations, 1);
      assert.equal(o.blocks[0].exploration?.executions, fresh.result.executions);
      assert.deepStrictEqual(o.blocks[0].exploration?.trace, fresh.result.counterexample?.trace);
    }
    // Read, not explored (unless another engineer's edit changed the sources meanwhile).
    const [read, ran] = [reusing.blocks[0].durationMs, exploring.blocks[0].durationMs];
    assert.ok(read * 2 < ran || sourceKey() !== store.key, `read in ${read} ms, ran in ${ran}`);

    const changing = "# Changed\n\n```ts\n" +
      'import { strategies } from "../mod.ts";\n' +
      '(strategies[0].expected as Record<string, string>)["fault-vs-munmap"] = "safe";\n' +
      "```\n";
    const frozen = await runDoc(parseDoc(changing, "docs/changed.md"), {
      outDir,
      reuseResults: true,
      typeCheck: false,
    });
    assert.equal(frozen.passed, false);
    assert.match(frozen.blocks[0].message, /TypeError: Cannot assign to read only property/);
    const unfrozen = await runDoc(parseDoc(changing, "docs/changed.md"), {
      outDir,
      typeCheck: false,
    });
    assert.equal(unfrozen.passed, true, "the tests' notes run as they always did");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
