import type { FunnelStage } from '../../activities/contracts';

/** Asserts in = kept + all dropped + all failed for every funnel stage, naming the stage that breaks it. */
export function expectFunnelAddsUp(funnel: FunnelStage[]): void {
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  for (const s of funnel) {
    expect({ stage: s.stage, total: s.kept + sum(s.dropped) + sum(s.failed) }).toEqual({ stage: s.stage, total: s.in });
  }
}
