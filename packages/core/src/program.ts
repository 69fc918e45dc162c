/**
 * What every carillon program does around its own work: `--config`/`--set` flags, the layered config (a bad key
 * stops the program with exit code 2 and a message naming it), stop signals, and a last-resort error exit.
 */
import { Command } from 'commander';
import { ConfigSource, parseOverrides, readTomlFile } from './config.js';
import type { LogLevel } from './common-keys.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';

export interface ProgramSpec<T> {
  /** Name used in messages, e.g. `carillon-relay`. */
  name: string;
  description: string;
  /** An example override for `--help`, e.g. `http.listen=:8081`. */
  exampleOverride: string;
  read: (source: ConfigSource) => T;
}

/** Parses the flags and reads the config; on a ConfigError prints it and exits with code 2. */
export function readProgramConfig<T>(spec: ProgramSpec<T>, argv: readonly string[]): T {
  const program = new Command()
    .name(spec.name)
    .description(spec.description)
    .option('-c, --config <file>', 'TOML configuration file (env CARILLON_CONFIG)', process.env.CARILLON_CONFIG)
    .option('-s, --set <key=value...>', `override one config key, e.g. --set ${spec.exampleOverride} (repeatable)`, [])
    .parse([...argv]);
  const options = program.opts<{ config?: string; set: string[] }>();
  try {
    const file = options.config ? readTomlFile(options.config) : {};
    return spec.read(new ConfigSource(file, process.env, parseOverrides(options.set)));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** Runs `stop` once on the first SIGTERM or SIGINT (a second signal during the stop is ignored). */
export function onStopSignals(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void stop(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/** Runs a program's main; an error nothing else handled is printed and exits with code 1. */
export function runProgram(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name}: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

/** What a service program runs: one object started from its config and stopped on SIGTERM/SIGINT. */
export interface ServiceSpec<T> extends ProgramSpec<T> {
  logLevel: (config: T) => LogLevel;
  start: (config: T, logger: Logger) => Promise<{ stop(): Promise<void> }>;
  /** Logged when a stop signal arrives, before `stop()`. */
  stopping: string;
}

/**
 * A whole program: read the config (exit 2 naming a bad key), start the service, and on SIGTERM/SIGINT stop it and
 * exit 0. Each `services/<name>/src/main.ts` is one call of this.
 */
export function runService<T>(spec: ServiceSpec<T>): void {
  runProgram(spec.name, async () => {
    const config = readProgramConfig(spec, process.argv);
    const logger = createLogger(spec.name, spec.logLevel(config));
    const service = await spec.start(config, logger);
    onStopSignals(async (signal) => {
      logger.info({ signal }, spec.stopping);
      await service.stop();
      logger.info('stopped');
      process.exit(0);
    });
  });
}
