/** Shared types of the CLIP scoring activity. */

/** Structured logger the CLIP code reports through (activities never print). */
export interface ClipLogger {
  /** Informational event. */
  info(msg: string, attrs?: Record<string, unknown>): void;
  /** Something degraded but recoverable, such as the CPU fallback. */
  warn(msg: string, attrs?: Record<string, unknown>): void;
}
