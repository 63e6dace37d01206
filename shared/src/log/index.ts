import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  level: string;
  /** Extra fields on every line, e.g. `{ gatewayId }`. */
  base?: Record<string, unknown>;
  /** Where lines go; defaults to standard output. */
  destination?: pino.DestinationStream;
}

/**
 * The one logger: structured JSON lines (pino), one child per component so every line says
 * where it came from (`component: "gateway.bridge"`).
 */
export function createLogger(component: string, options: Partial<LogOptions> = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { component, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing, for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
