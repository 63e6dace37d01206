/**
 * The one way the dashboard shows a time: `2026-12-04 10:03:45`, in UTC, the zone the page
 * states in its headings. The server renders with `formatTime`; the browser scripts, which update
 * the same cells live, carry `clientFormatTime` (the same function as plain ES5 source), so a cell
 * reads the same before and after a live update whatever the browser's own zone and locale.
 */
export const timeZoneLabel = 'UTC';

/** An ISO time as the dashboard shows it; `never` for none, `–` for something unreadable. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** `formatTime` for the browser scripts: defines `bvTime(iso)` in the script that includes it. */
export const clientFormatTime = `function bvTime(iso){if(!iso)return 'never';var d=new Date(iso);
  if(isNaN(d.getTime()))return '–';return d.toISOString().slice(0,19).replace('T',' ')}`;
