/** The keys every program reads: `log_level` and `times` (the relay needs the coarsest step for ring boundaries). */
import { configKey } from './config-schema.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The resolutions every program assumes unless `times` says otherwise. */
export const DEFAULT_TIMES = ['10s:168h', '1m:720h', '10m:21600h'] as const;

export const LOG_LEVEL_KEY = configKey.oneOf({
  key: 'log_level',
  choices: LOG_LEVELS,
  default: 'info',
  description: 'logs are JSON lines on stdout',
});

export const TIMES_KEY = configKey.stringList({
  key: 'times',
  default: DEFAULT_TIMES,
  description:
    'resolutions, step:retention, finest first; each step a multiple of the one before; the first step is the flush interval',
});
