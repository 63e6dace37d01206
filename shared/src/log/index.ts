import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  level: string;
  /** Extra fields on every line, e.g. `{ gatewayId }`. */
  base?: Record<string, unknown>;
  /** Where lines go: a stream, or a file path (appended, created with its folder); defaults to standard output. */
  destination?: pino.DestinationStream | string;
}

/**
 * The one logger: structured JSON lines (pino), one child per component so every line says
 * where it came from (`component: "gateway.bridge"`).
 */
export function createLogger(component: string, options: Partial<LogOptions> = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    // The root logger of a process that hosts several components (the one-process platform) has
    // no component of its own: each component's child names itself, once.
    base: { ...(component ? { component } : {}), ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const { destination } = options;
  if (destination === undefined) return pino(opts);
  return pino(
    opts,
    typeof destination === 'string'
      ? pino.destination({ dest: destination, mkdir: true, sync: false })
      : destination,
  );
}

/** A logger that writes nothing, for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
