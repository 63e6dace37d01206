import type { OrderSummary, TimelineEntry } from './read-models.js';

export interface OrderFilters {
  site?: string;
  status?: string;
  customer?: string;
}

export interface OrderListData {
  orders: OrderSummary[];
  filters: OrderFilters;
  /** Sites the caller may filter by; empty for a shopper (their orders span sites). */
  sites: { id: string; name: string }[];
  statuses: readonly string[];
  shopper: boolean;
  /** `before` of the next (older) page, if this one was full. */
  older: string | null;
}

const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

function StatusPill(props: { status: string }) {
  return (
    <span class={`pill order-${props.status}`} data-order-status>
      {props.status}
    </span>
  );
}

function olderHref(filters: OrderFilters, before: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  params.set('before', before);
  return `/orders?${params}`;
}

function LiveBadge() {
  return (
    <span class="pill off" id="orders-live" data-testid="orders-live">
      connecting
    </span>
  );
}

/** Orders newest first, with filters; statuses follow the live socket. */
export function OrderListPage(props: { data: OrderListData }) {
  const { orders, filters, sites, statuses, shopper, older } = props.data;
  return (
    <div class="orders" id="orders">
      <h1>
        {shopper ? 'My orders' : 'Orders'} <LiveBadge />
      </h1>
      <form class="inline filters" method="get" action="/orders" data-testid="orders-filters">
        {shopper ? null : (
          <select name="site" data-testid="filter-site">
            <option value="">All my sites</option>
            {sites.map((s) => (
              <option value={s.id} selected={filters.site === s.id}>
                {s.name}
              </option>
            ))}
          </select>
        )}
        <select name="status" data-testid="filter-status">
          <option value="">Any status</option>
          {statuses.map((s) => (
            <option value={s} selected={filters.status === s}>
              {s}
            </option>
          ))}
        </select>
        {shopper ? null : (
          <input
            name="customer"
            value={filters.customer ?? ''}
            placeholder="Customer id"
            data-testid="filter-customer"
          />
        )}
        <button type="submit">Filter</button>
      </form>
      <p class="none" id="orders-new" data-testid="orders-new" hidden>
        New orders were placed: <a href="/orders">reload</a>.
      </p>
      {orders.length === 0 ? (
        <p class="none" data-testid="orders-empty">
          No orders match.
        </p>
      ) : (
        <table data-testid="orders-list">
          <thead>
            <tr>
              <th>Order</th>
              <th>Site</th>
              {shopper ? null : <th>Customer</th>}
              <th>Units</th>
              <th>Status</th>
              <th>Placed</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr data-order={o.orderId} data-version={String(o.version)} data-status={o.status}>
                <td class="id">
                  <a href={`/orders/${encodeURIComponent(o.orderId)}`}>{o.orderId}</a>
                </td>
                <td>{o.siteId}</td>
                {shopper ? null : <td>{o.customerId}</td>}
                <td class="num">{String(o.units)}</td>
                <td>
                  <StatusPill status={o.status} />
                </td>
                <td>{when(o.placedAt)}</td>
                <td data-updated>{when(o.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {older ? (
        <p class="pager">
          <a href={olderHref(filters, older)} data-testid="orders-older">
            Older orders
          </a>
        </p>
      ) : null}
    </div>
  );
}

/** One order: its lines, status (reloaded live when it moves) and the timeline of its events. */
export function OrderDetailPage(props: { order: OrderSummary; timeline: TimelineEntry[] }) {
  const { order, timeline } = props;
  return (
    <div class="orders" id="orders" data-order-id={order.orderId} data-version={String(order.version)}>
      <p>
        <a href="/orders">← Orders</a>
      </p>
      <h1>
        Order <code>{order.orderId}</code> <LiveBadge />
      </h1>
      <dl data-testid="order-detail">
        <dt>Status</dt>
        <dd data-testid="order-status">
          <StatusPill status={order.status} />
        </dd>
        <dt>Site</dt>
        <dd>{order.siteId}</dd>
        <dt>Customer</dt>
        <dd>{order.customerId}</dd>
        <dt>Placed</dt>
        <dd>{when(order.placedAt)}</dd>
        {order.rejection ? (
          <>
            <dt>Rejected</dt>
            <dd data-testid="order-rejection">
              {order.rejection.reason} ({order.rejection.code})
            </dd>
          </>
        ) : null}
      </dl>
      <h2>Lines</h2>
      <table data-testid="order-lines">
        <thead>
          <tr>
            <th>SKU</th>
            <th>Quantity</th>
          </tr>
        </thead>
        <tbody>
          {order.lines.map((l) => (
            <tr>
              <td>{l.sku}</td>
              <td class="num">{String(l.quantity)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 style="margin-top:20px">Timeline</h2>
      <table data-testid="order-timeline">
        <thead>
          <tr>
            <th>#</th>
            <th>Event</th>
            <th>At</th>
            <th>Data</th>
          </tr>
        </thead>
        <tbody>
          {timeline.map((e) => (
            <tr data-event={e.type}>
              <td class="num">{String(e.version)}</td>
              <td>{e.type.replace(/^bv\.order\./, '').replace(/\.v\d+$/, '')}</td>
              <td>{when(e.at)}</td>
              <td>
                <code>{JSON.stringify(e.data)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
