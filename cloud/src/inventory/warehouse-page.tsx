import { formatTime } from '../dashboard/time.js';
import type { Aisle, Gateway, Shelf, Site } from '../registry/registry.js';
import type { BinHealth } from './bin-health.js';
import type { Alert, BinView } from './inventory.js';

export interface WarehouseData {
  site: Site;
  sites: Site[];
  aisles: Aisle[];
  shelves: Shelf[];
  bins: BinView[];
  alerts: Alert[];
  /** The site's gateways (a degraded one, with a device link it cannot open, is shown at the top). */
  gateways?: Gateway[];
}

/** What a bin whose count is not current says about it (the client script has the same words). */
export const healthLabels: Record<Exclude<BinHealth, 'ok'>, string> = {
  shelf_offline: 'shelf offline',
  cell_fault: 'cell fault',
  low_confidence: 'low confidence',
};

/** The weight line: live net weight, or when the count stopped being current. */
function weightLine(b: BinView): string {
  if (b.health !== 'ok') return `last weighed ${formatTime(b.weighedAt)}`;
  return b.weightG === null ? 'no reading yet' : `${(b.weightG - b.tareG).toFixed(1)} g net`;
}

function BinTile(props: { bin: BinView }) {
  const b = props.bin;
  const low = b.lowStockThreshold !== null && b.count <= b.lowStockThreshold;
  const classes = [
    'bin',
    low ? 'low' : '',
    b.count === 0 ? 'empty' : '',
    b.lit ? 'lit' : '',
    b.health === 'ok' ? '' : `stale ${b.health.replace('_', '-')}`,
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      class={classes}
      id={`bin-${b.shelfId}-${b.bin}`}
      data-testid={`bin-${b.shelfId}-${b.bin}`}
      data-threshold={b.lowStockThreshold === null ? '' : String(b.lowStockThreshold)}
      data-tare={String(b.tareG)}
      data-weighed={String(b.weighed)}
      data-health={b.health}
      data-weight-g={b.weightG === null ? '' : String(b.weightG)}
      data-weighed-at={b.weighedAt ?? ''}
    >
      <span class="lamp" title="pick-to-light" data-testid={`bin-light-${b.shelfId}-${b.bin}`} />
      <div class="no">BIN {String(b.bin).padStart(2, '0')}</div>
      <div class="sku">{b.sku ?? 'unassigned'}</div>
      <div class="name">{b.productName ?? '—'}</div>
      <div class="health" data-health-label data-testid={`bin-health-${b.shelfId}-${b.bin}`}>
        {b.health === 'ok' ? '' : healthLabels[b.health]}
      </div>
      <div class="count" data-count data-testid={`bin-count-${b.shelfId}-${b.bin}`}>
        {String(b.count)}
        <small>units</small>
      </div>
      <div class="conf" title={`confidence ${Math.round(b.confidence * 100)}%`}>
        <i style={`width:${Math.round(b.confidence * 100)}%`} />
      </div>
      <div class="weight" data-weight data-testid={`bin-weight-${b.shelfId}-${b.bin}`}>
        {weightLine(b)}
      </div>
    </div>
  );
}

function ShelfCard(props: { shelf: Shelf; bins: BinView[] }) {
  const s = props.shelf;
  return (
    <section class="shelf" data-testid={`shelf-${s.id}`}>
      <div class="head">
        <span id={`shelf-dot-${s.id}`} class={`dot ${s.online ? 'on' : 'off'}`} />
        <b>{s.id}</b>
        <span class="meta">
          gateway {s.gatewayId} · firmware {s.firmware ?? '?'} · {s.binCount} bins
        </span>
      </div>
      <div class="bins">
        {props.bins.map((b) => (
          <BinTile bin={b} />
        ))}
      </div>
    </section>
  );
}

export function WarehousePage(props: { data: WarehouseData }) {
  const { site, aisles, shelves, bins, alerts } = props.data;
  const binsOf = (shelfId: string) => bins.filter((b) => b.shelfId === shelfId);
  const groups: { id: string | null; name: string; shelves: Shelf[] }[] = aisles.map((a) => ({
    id: a.id,
    name: a.name,
    shelves: shelves.filter((s) => s.aisleId === a.id),
  }));
  const loose = shelves.filter((s) => !aisles.some((a) => a.id === s.aisleId));
  if (loose.length > 0) groups.push({ id: null, name: 'Not in an aisle', shelves: loose });
  const units = bins.reduce((n, b) => n + b.count, 0);
  const online = shelves.filter((s) => s.online).length;
  const lit = bins.filter((b) => b.lit).length;
  const stale = bins.filter((b) => b.health !== 'ok').length;
  return (
    <>
      <h1>{site.name}</h1>
      <div class="sub">
        Site <code>{site.id}</code> · counts come from shelf weight and update live
      </div>
      {(props.data.gateways ?? []).map((g) => (
        <div class="banner" id={`degraded-${g.id}`} data-testid={`degraded-${g.id}`} hidden={!g.linksDown}>
          <b>{`Gateway ${g.name} (${g.id}) degraded:`}</b> <span data-link-error>{g.linkError ?? ''}</span>
          <small> The shelves on these links are not counted until the gateway can open them.</small>
        </div>
      ))}
      <div class="stats">
        <div class="stat">
          <div class="v" id="total-units" data-testid="total-units">
            {String(units)}
          </div>
          <div class="k">units on shelves</div>
        </div>
        <div class="stat">
          <div
            class="v"
            id="shelves-online"
            data-testid="shelves-online"
          >{`${online}/${shelves.length}`}</div>
          <div class="k">shelves online</div>
        </div>
        <div class="stat">
          <div class="v" id="stale-bins" data-testid="stale-bins">
            {String(stale)}
          </div>
          <div class="k">bins not current</div>
        </div>
        <div class="stat">
          <div class="v" id="open-alerts">
            {String(alerts.length)}
          </div>
          <div class="k">open alerts</div>
        </div>
        <div class="stat">
          <div class="v">{String(lit)}</div>
          <div class="k">bins lit for picking</div>
        </div>
      </div>
      <div class="layout">
        <div>
          {groups.map((g) => (
            <div class="aisle" data-testid={g.id ? `aisle-${g.id}` : 'aisle-none'}>
              <h2>{g.name}</h2>
              {g.shelves.length === 0 ? <div class="none">No shelves yet.</div> : null}
              {g.shelves.map((s) => (
                <ShelfCard shelf={s} bins={binsOf(s.id)} />
              ))}
            </div>
          ))}
          {groups.length === 0 ? <div class="none">This site has no aisles or shelves yet.</div> : null}
        </div>
        <aside>
          <div class="panel">
            <h2>Alerts</h2>
            <ul class="alerts" id="alerts" data-testid="alerts">
              {alerts.map((a) => (
                <li
                  id={`alert-${a.id}`}
                  class={`alert ${a.kind.replace('_', '-')}`}
                  data-testid="alert"
                  data-kind={a.kind}
                >
                  {a.message}
                  <small>
                    {a.shelfId} · bin {a.bin}
                  </small>
                </li>
              ))}
            </ul>
            <div class="none" id="no-alerts" hidden={alerts.length > 0}>
              Nothing low, no faulty hardware. All good.
            </div>
          </div>
          <div class="panel">
            <h2>Legend</h2>
            <div class="none">
              Orange: at or below the low-stock threshold. Yellow glow: lit for picking, as the shelf reports
              it (a restarted shelf's lights are off; an offline shelf's are unknown and shown unlit). The bar
              under a count is the confidence of the count from weight. Red, count greyed: the count is not
              current (shelf offline, load cell fault, or low confidence), with the time the bin was last
              weighed.
            </div>
          </div>
        </aside>
      </div>
    </>
  );
}
