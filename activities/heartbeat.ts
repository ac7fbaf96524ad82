import { Context } from '@temporalio/activity';

/**
 * What a long batch heartbeats: how far it is (`done` of `total` items), plus any detail that
 * helps someone reading the web UI's pending activities. A retried attempt can read the last one
 * back from `Context.current().info.heartbeatDetails`.
 */
export interface BatchHeartbeat {
  done: number;
  total: number;
  [detail: string]: unknown;
}

/** Heartbeats progress when running as an activity; a no-op when the code is called directly. */
export function heartbeat(details: BatchHeartbeat | Record<string, unknown>): void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.heartbeat(details);
}
