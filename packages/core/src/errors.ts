/** A configuration value that cannot be used. The message always names the key. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`config: ${key}: ${problem}`);
    this.name = 'ConfigError';
  }
}
