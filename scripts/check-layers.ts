/**
 * Fails when an import points from a lower layer to a higher one, when src/ imports activities/ or workflows/, or
 * when modules import each other in a circle (type-only imports count: they couple the files all the same).
 * The layers, highest first, are LAYERS below (and docs/design.md §10). Run by `npm run lint` and CI;
 * `--strict` ignores the allow-list of known violations.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** Highest first: a file may import its own layer and those below it. The first matching prefix decides. */
const LAYERS: readonly { name: string; prefixes: readonly string[] }[] = [
  { name: 'entry points', prefixes: ['scripts/', 'bench/', 'worker.ts', 'src/dev/', 'src/cli/'] },
  { name: 'api', prefixes: ['src/api/', 'src/notifications/routes.ts'] },
  // Temporal's entry points: a workflow or activity runs a service operation (auto-pause, a notification).
  { name: 'workflows and activities', prefixes: ['activities/', 'workflows/'] },
  { name: 'service', prefixes: ['src/service/', 'src/notifications/', 'src/health/', 'src/metrics/'] },
  {
    name: 'temporal',
    prefixes: [
      'src/temporal/connection.ts',
      'src/temporal/schedules.ts',
      'src/temporal/worker.ts',
      'src/temporal/workflows-path.ts',
      'src/temporal-ui/',
    ],
  },
  { name: 'destinations', prefixes: ['src/destinations/', 'src/formats/'] },
  // What workflows, activities, services and destinations exchange: types and constants only.
  { name: 'contracts', prefixes: ['src/temporal/contracts.ts'] },
  // The metadata records derive their model names from the model registry, so models sit under db.
  { name: 'db', prefixes: ['src/db/'] },
  { name: 'models', prefixes: ['src/models/', 'src/backfills/'] },
  { name: 'leaf', prefixes: ['src/'] },
];

/** Known violations (`from -> to`), each with why it is allowed; none today. */
const ALLOWED: ReadonlySet<string> = new Set([]);

/** `--strict`: ignore the allow-list (to see what is left of it). */
const STRICT = process.argv.includes('--strict');

const SOURCES = ['src', 'activities', 'workflows', 'scripts', 'bench', 'worker.ts'];

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.prefixes.some((prefix) => file.startsWith(prefix)));
  if (index < 0) throw new Error(`${file} belongs to no layer: add its folder to LAYERS in scripts/check-layers.ts`);
  return index;
}

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(full).flatMap((name) => (name === 'results' ? [] : sourceFiles(join(path, name))));
}

/** The repository file a relative specifier names, or null for packages and non-TypeScript files. */
function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = join(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(join(ROOT, candidate))) return candidate;
  }
  return null;
}

function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles.flatMap(({ fileName }) => resolveImport(file, fileName) ?? []);
}

/** Strongly connected components of more than one file (Tarjan): every import circle. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

function check(): { upward: string[]; circular: string[][]; allowed: number } {
  const files = SOURCES.flatMap(sourceFiles).map((file) => relative(ROOT, join(ROOT, file)));
  const graph = new Map<string, string[]>();
  const upward: string[] = [];
  let allowed = 0;
  for (const file of files) {
    const edges: string[] = [];
    for (const target of importsOf(file)) {
      const edge = `${file} -> ${target}`;
      if (!STRICT && ALLOWED.has(edge)) {
        allowed += 1;
        continue;
      }
      edges.push(target);
      const intoTemporalCode = file.startsWith('src/') && /^(activities|workflows)\//.test(target);
      if (layerOf(target) < layerOf(file) || intoTemporalCode) {
        const why = intoTemporalCode
          ? 'src/ must not import activities/ or workflows/'
          : `${LAYERS[layerOf(file)]!.name} must not import ${LAYERS[layerOf(target)]!.name}`;
        upward.push(`${edge} (${why})`);
      }
    }
    graph.set(file, edges);
  }
  return { upward, circular: circles(graph), allowed };
}

const { upward, circular, allowed } = check();
for (const line of upward) console.error(`upward import: ${line}`);
for (const component of circular) console.error(`import circle: ${component.join(', ')}`);
const summary = `${upward.length} upward imports, ${circular.length} import circles, ${allowed} allowed known violations`;
if (upward.length + circular.length > 0) {
  console.error(summary);
  process.exit(1);
}
console.log(summary);
