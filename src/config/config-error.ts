// ConfigError: what stops startup when the configuration is wrong, with the file
// and line it came from. Not a GatewayError: it never becomes an HTTP status.

export class ConfigError extends Error {
  readonly code = 'FCGATE_CONFIG' as const;
  /**
   * `file` is the name as given to the loader, '' for command-line flags (the detail names
   * the flag); `line` is 1-based, 0 when there is no line (flags, whole-file problems).
   * The message reads `fcgate.conf:12: ProxyPass: expected a path and a URL`.
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(file === '' ? detail : line > 0 ? `${file}:${line}: ${detail}` : `${file}: ${detail}`);
    this.name = 'ConfigError';
  }
}
