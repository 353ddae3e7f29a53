/**
 * The layer rule: dependencies point one way, cli → site → literate → mod.ts, and
 * below mod.ts scenarios → strategies → mm → explore. The explorer knows nothing of
 * mm; mm knows nothing of strategies; the layers above the core see it only through
 * `mod.ts`, as the notes do. Only the upper layers may use npm packages (through the
 * import map). Run by `deno task lint`; `layers_test.ts` runs it too.
 *
 * @module
 */

/** Folder → folders (or root files) it may import from, besides itself. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  explore: [],
  mm: ["explore"],
  strategies: ["explore", "mm"],
  scenarios: ["explore", "mm", "strategies"],
  literate: ["mod.ts"],
  site: ["mod.ts", "literate"],
  cli: ["mod.ts", "site"],
};

/** The core: no npm packages, only project files and `node:` built-ins. */
const CORE: ReadonlySet<string> = new Set(["explore", "mm", "strategies", "scenarios"]);

/** Import specifiers of a TypeScript source (static, side-effect only, and dynamic). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/**
 * Breaches of the rule among `files` (paths relative to the root, with their source).
 * A layer may import its own folder, the layers below it, and `node:` built-ins.
 */
export function breaches(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, source] of files) {
    const layer = path.split("/")[0];
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    for (const spec of importsOf(source)) {
      if (spec.startsWith("node:")) continue;
      if (!spec.startsWith(".")) {
        if (!CORE.has(layer)) continue;
        problems.push(
          `${path}: imports "${spec}"; core layers import only project files and node: built-ins`,
        );
        continue;
      }
      const target = new URL(spec, `file:///root/${path}`).pathname.slice("/root/".length);
      const targetLayer = target.includes("/") ? target.split("/")[0] : target;
      if (targetLayer !== layer && !allowed.includes(targetLayer)) {
        problems.push(
          `${path}: imports ${target}, but ${layer}/ may only use ${
            [layer, ...allowed].join(", ")
          }`,
        );
      }
    }
  }
  return problems;
}

/** Reads every .ts file of the layers under `root`. */
export async function coreFiles(root: URL): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const layer of Object.keys(ALLOWED)) {
    for await (const entry of Deno.readDir(new URL(`${layer}/`, root))) {
      if (entry.isFile && entry.name.endsWith(".ts")) {
        files.set(
          `${layer}/${entry.name}`,
          await Deno.readTextFile(new URL(`${layer}/${entry.name}`, root)),
        );
      }
    }
  }
  return files;
}

if (import.meta.main) {
  const problems = breaches(await coreFiles(new URL("../", import.meta.url)));
  for (const p of problems) console.error(p);
  if (problems.length) Deno.exit(1);
  console.log("layers: ok");
}
