import { type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from 'pino';

/** Sends kafkajs' own logs into our pino logger, one child per kafkajs namespace. */
export function pinoLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          logger.error(fields, message);
          break;
        case logLevel.WARN:
          logger.warn(fields, message);
          break;
        case logLevel.INFO:
          logger.info(fields, message);
          break;
        default:
          logger.debug(fields, message);
      }
    };
}

/** The kafkajs level matching a pino level, so kafkajs does not build lines pino would drop. */
export function kafkaLogLevel(logger: Logger): logLevel {
  const value = logger.levelVal;
  if (value >= 60 || !Number.isFinite(value)) return logLevel.NOTHING;
  if (value >= 50) return logLevel.ERROR;
  if (value >= 40) return logLevel.WARN;
  if (value >= 30) return logLevel.INFO;
  return logLevel.DEBUG;
}
