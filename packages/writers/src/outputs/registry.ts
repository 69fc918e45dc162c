/** Every writer type `[[writers]]` entries can name, in the order the docs list them. */
import { ARCHIVE_WRITER } from './archive/archive-writer.js';
import { FILE_WRITER } from './file/file-writer.js';
import { HTTP_WRITER } from './http/http-writer.js';
import { KAFKA_WRITER } from './kafka/kafka-writer.js';
import { LOG_WRITER } from './log/log-writer.js';
import { MYSQL_WRITER } from './mysql/mysql-writer.js';
import { PROMETHEUS_WRITER } from './prometheus/prometheus-writer.js';
import { REDIS_WRITER } from './redis/redis-writer.js';
import type { WriterType } from './writer-type.js';

export const WRITER_TYPES: readonly WriterType[] = [
  LOG_WRITER,
  FILE_WRITER,
  ARCHIVE_WRITER,
  HTTP_WRITER,
  KAFKA_WRITER,
  REDIS_WRITER,
  MYSQL_WRITER,
  PROMETHEUS_WRITER,
];
