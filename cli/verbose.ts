/**
 * `--verbose`: debug lines on stderr from the CLI (connections, queries, what was started), the
 * workers' runtime logger at DEBUG, and stack traces with errors.
 */
let verbose = false;

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
}

export function debug(message: string): void {
  if (verbose) process.stderr.write(`fasforge: ${message}\n`);
}
