/**
 * One error hierarchy for the whole platform. `retriable` tells the retry helper (and callers)
 * whether trying the same operation again can succeed; `code` is the stable machine-readable
 * name that APIs put in their JSON error bodies.
 */
export interface BitvErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  details?: Record<string, unknown>;
}

export class BitvError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: BitvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

/** Input from outside failed validation: never retriable, maps to HTTP 400. */
export class ValidationError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('validation_failed', message, { ...options, retriable: false });
  }
}

export class NotFoundError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('not_found', message, { ...options, retriable: false });
  }
}

export class ConflictError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('conflict', message, { ...options, retriable: false });
  }
}

/**
 * An append found its stream at another version than the caller expected: someone else wrote
 * first. Code `conflict` (409): the caller reloads the stream and decides again.
 */
export class ConcurrencyError extends ConflictError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super(message, options);
  }
}

export class UnauthenticatedError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('unauthenticated', message, { ...options, retriable: false });
  }
}

export class ForbiddenError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('forbidden', message, { ...options, retriable: false });
  }
}

/** A peer (database, broker, Kafka) could not be reached or answered with a transient failure. */
export class UnavailableError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('unavailable', message, { retriable: true, ...options });
  }
}

export class TimeoutError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('timeout', message, { retriable: true, ...options });
  }
}

/** A queue or buffer is at its bound; the caller should slow down and try later. */
export class CapacityError extends BitvError {
  constructor(message: string, options: BitvErrorOptions = {}) {
    super('capacity_exceeded', message, { retriable: true, ...options });
  }
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof BitvError) return error.retriable;
  // Errors from libraries (kafkajs, pg, ioredis) carry their own hints; network errors are transient.
  if (error && typeof error === 'object') {
    const e = error as { retriable?: unknown; code?: unknown };
    if (typeof e.retriable === 'boolean') return e.retriable;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  }
  return false;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTCONN',
]);

/** Rejects with a TimeoutError when `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
