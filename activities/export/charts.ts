/**
 * The dataset card's charts, as vega-lite specs over the card's own figures, rendered to SVG by
 * vega on a worker thread (`charts-thread.ts`).
 */
import path from 'node:path';
import type { FunnelStage } from '../contracts';
import type { ClipScoreStats } from '../clip/types';
import { runOnThread } from './thread';

export interface ChartSpec {
  name: string;
  title: string;
  spec: object;
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 480, height: 260 };

export function countsChart(cells: Record<string, Record<string, Record<string, number>>>): ChartSpec {
  const values = Object.entries(cells).flatMap(([cls, byTask]) =>
    Object.entries(byTask).map(([task, bySplit]) => ({
      class: cls,
      task,
      records: Object.values(bySplit).reduce((a, b) => a + b, 0),
    })),
  );
  return {
    name: 'counts',
    title: 'Records per class and task',
    spec: {
      ...base,
      title: 'Records per class and task',
      data: { values },
      mark: 'bar',
      encoding: {
        y: { field: 'class', type: 'nominal', sort: '-x', title: 'class' },
        x: { field: 'records', type: 'quantitative', aggregate: 'sum', title: 'records' },
        color: { field: 'task', type: 'nominal', title: 'task' },
      },
    },
  };
}

export function funnelChart(funnel: FunnelStage[]): ChartSpec {
  const values = funnel.flatMap((s, order) => {
    const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    return [
      { stage: s.stage, order, outcome: 'kept', n: s.kept },
      { stage: s.stage, order, outcome: 'dropped', n: sum(s.dropped) },
      { stage: s.stage, order, outcome: 'failed', n: sum(s.failed) },
    ];
  });
  return {
    name: 'funnel',
    title: 'Funnel: what each stage kept, dropped and failed',
    spec: {
      ...base,
      title: 'Funnel by stage',
      data: { values },
      mark: 'bar',
      encoding: {
        y: { field: 'stage', type: 'nominal', sort: { field: 'order' }, title: 'stage' },
        x: { field: 'n', type: 'quantitative', title: 'items' },
        color: {
          field: 'outcome',
          type: 'nominal',
          scale: { domain: ['kept', 'dropped', 'failed'], range: ['#4c9a5b', '#e0a030', '#c0392b'] },
        },
      },
    },
  };
}

/** One bar per class and histogram bin of the CLIP score distribution. */
export function clipBins(stats: ClipScoreStats): { class: string; from: number; to: number; n: number }[] {
  return Object.entries(stats.byClass).flatMap(([cls, s]) => {
    const h = s.scores?.histogram;
    if (!h) return [];
    return h.counts.map((n, i) => ({ class: cls, from: h.edges[i]!, to: h.edges[i + 1]!, n })).filter((b) => b.n > 0);
  });
}

export function clipChart(stats: ClipScoreStats, threshold: number | undefined): ChartSpec {
  const bins = clipBins(stats);
  const rule =
    threshold === undefined
      ? []
      : [
          {
            data: { values: [{ threshold }] },
            mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
            encoding: { x: { field: 'threshold', type: 'quantitative' } },
          },
        ];
  return {
    name: 'clip-scores',
    title: 'CLIP image–description scores per class',
    spec: {
      ...base,
      title:
        threshold === undefined ? 'CLIP scores per class' : `CLIP scores per class (filter threshold ${threshold})`,
      layer: [
        {
          data: { values: bins },
          mark: 'bar',
          encoding: {
            x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: 'CLIP cosine similarity' },
            x2: { field: 'to' },
            y: { field: 'n', type: 'quantitative', aggregate: 'sum', title: 'records', axis: { tickMinStep: 1 } },
            color: { field: 'class', type: 'nominal', title: 'class' },
          },
        },
        ...rule,
      ],
    },
  };
}

/** Renders each chart to an SVG string, keyed by chart name. */
export function renderCharts(charts: ChartSpec[]): Promise<Record<string, string>> {
  return runOnThread<ChartSpec[], Record<string, string>>(path.join(__dirname, 'charts-thread.ts'), charts);
}
