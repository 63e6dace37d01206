import { type Bindings, type ChildLoggerOptions, type Logger, type LoggerOptions, pino } from 'pino';

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
 * where it came from (`component: "gateway.bridge"`). A key appears once per line: a child that
 * names a key its parent already has (a component's own `component`) replaces the value instead of
 * repeating the key, which pino alone would do (two `component` keys on one line, and a JSON reader
 * keeps only one of them).
 */
export function createLogger(component: string, options: Partial<LogOptions> = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    // Bindings, the base fields included, live on the children so that each child can rewrite them.
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const { destination } = options;
  const root =
    destination === undefined
      ? pino(opts)
      : pino(
          opts,
          typeof destination === 'string'
            ? pino.destination({ dest: destination, mkdir: true, sync: false })
            : destination,
        );
  // The root logger of a process that hosts several components (the one-process platform) has
  // no component of its own: each component's child names itself, once.
  return uniqueKeys(root, root.child({ ...(component ? { component } : {}), ...options.base }));
}

/** Makes `logger.child()` build each child from the root with the merged bindings, one key each. */
function uniqueKeys(root: Logger, logger: Logger): Logger {
  const child = (bindings: Bindings, options?: ChildLoggerOptions) =>
    uniqueKeys(root, root.child({ ...logger.bindings(), ...bindings }, { level: logger.level, ...options }));
  // pino's child is generic over custom levels, which this platform does not use.
  logger.child = child as unknown as Logger['child'];
  return logger;
}

/** A logger that writes nothing, for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
