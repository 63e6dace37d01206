import { formatTime, timeZoneLabel } from '../dashboard/time.js';
import { webhookEventTypes } from './event-types.js';
import type { AttemptRow, DeliveryRow, Endpoint, Notice } from './store.js';

export interface WebhooksPageData {
  endpoints: Endpoint[];
  /** The endpoint whose deliveries are shown (the first by default). */
  selected?: Endpoint;
  deliveries: (DeliveryRow & { log: AttemptRow[] })[];
  notices: Notice[];
  error?: string;
  flash?: string;
}

const statusPill: Record<string, string> = {
  delivered: 'on',
  pending: 'warn',
  failed: 'expired',
  dead: 'expired',
};

function EndpointRow(props: { e: Endpoint; selected: boolean }) {
  const { e } = props;
  return (
    <tr data-testid="webhook-endpoint-row" data-endpoint-id={e.id} class={props.selected ? 'selected' : ''}>
      <td>
        <a href={`/partner/webhooks?endpoint=${e.id}`} data-testid="webhook-endpoint-link">
          {e.url}
        </a>
        {e.description ? <div class="sub">{e.description}</div> : null}
      </td>
      <td style="font-size:12px">{e.eventTypes.join(', ')}</td>
      <td>
        {e.enabled ? (
          <span class="pill on" data-testid="webhook-endpoint-status">
            enabled
          </span>
        ) : (
          <span class="pill expired" data-testid="webhook-endpoint-status" title={e.disabledReason ?? ''}>
            disabled
          </span>
        )}
        {e.failingSince ? <div class="sub">{`failing since ${formatTime(e.failingSince)}`}</div> : null}
      </td>
      <td style="font-size:12px">
        {e.inOrder ? 'in order' : 'any order'}
        {e.ratePerSecond ? ` · ${e.ratePerSecond}/s` : ''}
      </td>
      <td>
        <code class="tokens" style="font-size:11px" data-testid="webhook-endpoint-secret">
          {e.secret}
        </code>
      </td>
      <td>
        <form
          method="post"
          action={`/partner/webhooks/${e.id}/${e.enabled ? 'disable' : 'enable'}`}
          style="margin:0"
        >
          <button type="submit" data-testid={e.enabled ? 'webhook-disable' : 'webhook-enable'}>
            {e.enabled ? 'Disable' : 'Enable'}
          </button>
        </form>
      </td>
    </tr>
  );
}

function Deliveries(props: { endpoint: Endpoint; deliveries: WebhooksPageData['deliveries'] }) {
  const { endpoint, deliveries } = props;
  const now = new Date();
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const local = (d: Date) => d.toISOString().slice(0, 16);
  return (
    <>
      <h2 style="margin-top:20px">{`Deliveries to ${endpoint.url}`}</h2>
      <form
        method="post"
        action={`/partner/webhooks/${endpoint.id}/replay`}
        class="inline"
        data-testid="webhook-replay-form"
      >
        <label for="replay-from">{`Replay from (UTC)`}</label>
        <input id="replay-from" name="from" type="datetime-local" value={local(hourAgo)} required />
        <label for="replay-to">to</label>
        <input
          id="replay-to"
          name="to"
          type="datetime-local"
          value={local(new Date(now.getTime() + 60_000))}
          required
        />
        <button type="submit" data-testid="webhook-replay">
          Replay
        </button>
      </form>
      {deliveries.length === 0 ? (
        <p class="none" data-testid="webhook-deliveries-none">
          No deliveries yet.
        </p>
      ) : (
        <table data-testid="webhook-deliveries">
          <thead>
            <tr>
              <th>Event</th>
              <th>Status</th>
              <th>Attempts (code, latency, response)</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr data-testid="webhook-delivery-row" data-delivery-id={d.id} data-status={d.status}>
                <td>
                  <div>{d.eventType}</div>
                  <div class="sub">{d.id}</div>
                </td>
                <td>
                  <span class={`pill ${statusPill[d.status] ?? ''}`} data-testid="webhook-delivery-status">
                    {d.status}
                  </span>
                </td>
                <td style="font-size:12px" data-testid="webhook-delivery-log">
                  {d.log.map((a) => (
                    <div>
                      {`#${a.attempt} ${formatTime(a.at)} · ${a.statusCode ?? 'no answer'} · ${a.latencyMs} ms`}
                      {a.error ? ` · ${a.error}` : ''}
                      {a.responseSnippet ? <code>{` ${a.responseSnippet.slice(0, 80)}`}</code> : null}
                    </div>
                  ))}
                </td>
                <td class="num">{formatTime(d.createdAt)}</td>
                <td>
                  <form
                    method="post"
                    action={`/partner/webhooks/${endpoint.id}/deliveries/${d.id}/retry`}
                    style="margin:0"
                  >
                    <button type="submit" data-testid="webhook-delivery-retry">
                      Retry
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** The partner's webhooks: endpoints (with secrets), a new one, notices, the delivery log, retry, replay. */
export function WebhooksPage(props: { data: WebhooksPageData }) {
  const { endpoints, selected, deliveries, notices, error, flash } = props.data;
  return (
    <>
      <h1>Webhooks</h1>
      <div class="sub">{`Signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) · times in ${timeZoneLabel}`}</div>
      {error ? (
        <p class="error" data-testid="webhook-error">
          {error}
        </p>
      ) : null}
      {flash ? <p data-testid="webhook-flash">{flash}</p> : null}
      {notices.length > 0 ? (
        <div class="card" data-testid="webhook-notices">
          <h2>Notices</h2>
          {notices.map((n) => (
            <div data-testid="webhook-notice">{`${formatTime(n.at)} · ${n.message}`}</div>
          ))}
        </div>
      ) : null}
      <div class="card" style="margin-top:12px">
        <h2>New endpoint</h2>
        <form method="post" action="/partner/webhooks" data-testid="webhook-form">
          <label for="wh-url">URL</label>
          <input
            id="wh-url"
            name="url"
            required
            maxlength={2000}
            placeholder="https://example.com/webhooks"
            size={50}
          />
          <label for="wh-desc">Description</label>
          <input id="wh-desc" name="description" maxlength={500} />
          <label for="wh-types">Event types (comma list, * or bv.order.*)</label>
          <input id="wh-types" name="eventTypes" required value="*" list="wh-type-list" size={40} />
          <datalist id="wh-type-list">
            {webhookEventTypes.map((t) => (
              <option value={t.type}>{t.description}</option>
            ))}
          </datalist>
          <label for="wh-rate">Rate limit (/s, optional)</label>
          <input id="wh-rate" name="ratePerSecond" type="number" min="0.1" step="0.1" />
          <label>
            <input type="checkbox" name="inOrder" value="on" /> in order
          </label>
          <button type="submit" data-testid="webhook-create">
            Add endpoint
          </button>
        </form>
      </div>
      <h2 style="margin-top:20px">{`Your endpoints (${endpoints.length})`}</h2>
      {endpoints.length === 0 ? (
        <p class="none" data-testid="webhook-endpoints-none">
          No endpoints yet.
        </p>
      ) : (
        <table data-testid="webhook-endpoints">
          <thead>
            <tr>
              <th>URL</th>
              <th>Events</th>
              <th>Status</th>
              <th>Delivery</th>
              <th>Signing secret</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {endpoints.map((e) => (
              <EndpointRow e={e} selected={e.id === selected?.id} />
            ))}
          </tbody>
        </table>
      )}
      {selected ? <Deliveries endpoint={selected} deliveries={deliveries} /> : null}
    </>
  );
}
