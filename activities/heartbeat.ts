import { Context } from '@temporalio/activity';

/** Heartbeats progress when running as an activity; a no-op when the code is called directly. */
export function heartbeat(details: unknown): void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.heartbeat(details);
}
