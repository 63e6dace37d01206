/** A timestamp column as the API shows it (PGlite gives Date objects, `pg` too; strings tolerated). */
export function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

export function isoOrNull(d: Date | string | null): string | null {
  return d === null ? null : iso(d);
}
