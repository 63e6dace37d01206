/**
 * A URL as it may be printed or logged: the password (and any query, which may carry one) is
 * replaced, the rest kept so an operator sees which server was meant. Text that is not a URL is
 * not echoed at all.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(a value that is not a URL)';
  }
  if (url.password) url.password = '***';
  if (url.search) url.search = '?***';
  return url.toString();
}

/**
 * The message of an error for one line of text. Node's connection errors for a name with several
 * addresses are an AggregateError with an empty message; its parts say what happened.
 */
export function errorText(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    return error.errors.map(errorText).join('; ') || 'connection failed';
  }
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return String(error);
}
