/** A series of a gateway's health over time, drawn as an inline SVG line (no script, no CDN). */
export interface ChartSeries {
  label: string;
  unit: string;
  points: { time: string; value: number | null }[];
  testId: string;
}

const width = 360;
const height = 120;
const pad = { left: 44, right: 8, top: 10, bottom: 22 };

function fmt(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(v >= 10 ? 0 : 1);
}

const hhmm = (iso: string) => iso.slice(11, 16);

/**
 * One health chart: a polyline over the minutes that have data, y from 0 to the series' maximum.
 * Gaps (null values: no data that minute) break the line rather than draw it through zero.
 */
export function HealthChart(props: { series: ChartSeries }) {
  const s = props.series;
  const values = s.points.map((p) => p.value).filter((v): v is number => v !== null);
  const max = Math.max(1, ...values);
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const n = s.points.length;
  const x = (i: number) => pad.left + (n <= 1 ? innerW / 2 : (i * innerW) / (n - 1));
  const y = (v: number) => pad.top + innerH - (v / max) * innerH;
  const segments: string[] = [];
  let current: string[] = [];
  s.points.forEach((p, i) => {
    if (p.value === null) {
      if (current.length > 0) segments.push(current.join(' '));
      current = [];
    } else current.push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
  });
  if (current.length > 0) segments.push(current.join(' '));
  const last = values.at(-1);
  return (
    <figure class="chart" data-testid={s.testId} data-points={String(values.length)}>
      <figcaption>
        {s.label}
        <b>{last === undefined ? '–' : `${fmt(last)} ${s.unit}`}</b>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={`${s.label} over time`}>
        <line x1={pad.left} y1={pad.top + innerH} x2={width - pad.right} y2={pad.top + innerH} class="axis" />
        <line x1={pad.left} y1={pad.top} x2={pad.left} y2={pad.top + innerH} class="axis" />
        <text x={pad.left - 4} y={pad.top + 8} text-anchor="end" class="tick">
          {fmt(max)}
        </text>
        <text x={pad.left - 4} y={pad.top + innerH} text-anchor="end" class="tick">
          0
        </text>
        {n > 0 ? (
          <>
            <text x={pad.left} y={height - 6} class="tick">
              {hhmm(s.points[0]?.time ?? '')}
            </text>
            <text x={width - pad.right} y={height - 6} text-anchor="end" class="tick">
              {hhmm(s.points[n - 1]?.time ?? '')}
            </text>
          </>
        ) : null}
        {segments.map((points) =>
          points.includes(' ') ? (
            <polyline points={points} class="line" />
          ) : (
            <circle cx={points.split(',')[0]} cy={points.split(',')[1]} r="2.5" class="dotp" />
          ),
        )}
        {values.length === 0 ? (
          <text x={width / 2} y={height / 2} text-anchor="middle" class="tick">
            no data yet
          </text>
        ) : null}
      </svg>
    </figure>
  );
}

export const chartCss = `
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px;margin-bottom:20px}
.chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:10px 12px}
.chart figcaption{display:flex;justify-content:space-between;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.4px}
.chart figcaption b{color:var(--ink);font-size:14px;text-transform:none;letter-spacing:0}
.chart .axis{stroke:var(--line);stroke-width:1}.chart .tick{fill:var(--muted);font-size:10px}
.chart .line{fill:none;stroke:var(--brand);stroke-width:2;stroke-linejoin:round}.chart .dotp{fill:var(--brand)}
.sev-critical{color:var(--bad);font-weight:700}.sev-major{color:var(--warn);font-weight:700}.sev-minor{color:var(--muted)}
.pill.active{background:#fee2e2;color:#991b1b}.pill.acknowledged{background:#fef3c7;color:#92400e}.pill.cleared{background:#f3f4f6;color:#4b5563}
.shadow pre{margin:0;font-size:12px;background:#f8fafc;border:1px solid var(--line);border-radius:7px;padding:8px;white-space:pre-wrap;word-break:break-all}
.shadow .cols{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}@media(max-width:1000px){.shadow .cols{grid-template-columns:1fr}}
.msg{font-size:13px;margin-top:8px}.msg.bad{color:var(--bad)}.msg.ok{color:var(--ok)}
section.block{margin-top:22px}
`;
