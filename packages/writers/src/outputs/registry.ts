/** Every writer type `[[writers]]` entries can name, in the order the docs list them. */
import { LOG_WRITER } from './log/log-writer.js';
import type { WriterType } from './writer-type.js';

export const WRITER_TYPES: readonly WriterType[] = [LOG_WRITER];
