/**
 * A name or layout this package refuses to build, e.g. an `.enc` name from an unsafe plain name.
 * The CLI maps `code` to an exit code; the message names the offending value.
 */
export class LayoutError extends Error {
  readonly code = "LAYOUT_INVALID";

  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}
