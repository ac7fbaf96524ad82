/**
 * Worker-thread entry that renders charts: each vega-lite spec is compiled to a vega spec and
 * rendered headless (no canvas) with vega's `View.toSVG()`. Started by `charts.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChartSpec } from './charts';

interface VegaLite {
  compile(spec: object): { spec: object };
}
interface Vega {
  parse(spec: object): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

// A variable specifier keeps this a real `import()`: both libraries are ES modules.
const load = (specifier: string): Promise<unknown> => import(specifier);

async function render(charts: ChartSpec[]): Promise<Record<string, string>> {
  const vl = (await load('vega-lite')) as VegaLite;
  const vega = (await load('vega')) as Vega;
  const out: Record<string, string> = {};
  for (const chart of charts) {
    const view = new vega.View(vega.parse(vl.compile(chart.spec).spec), { renderer: 'none' });
    out[chart.name] = await view.toSVG();
    view.finalize();
  }
  return out;
}

render(workerData as ChartSpec[]).then(
  (value) => parentPort!.postMessage({ ok: true, value }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: `chart rendering failed: ${err.stack ?? err.message}` }),
);
