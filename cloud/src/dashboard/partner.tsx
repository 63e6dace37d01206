import type { ApiKey } from '../auth/api-keys.js';
import type { Reservation } from '../inventory/reservations.js';
import { ApiDocs } from './api-docs.js';
import { formatTime, timeZoneLabel } from './time.js';

export interface PartnerData {
  baseUrl: string;
  keys: ApiKey[];
  /** Their newest reservations (made with their keys or their token). */
  reservations: Reservation[];
  /** A key just created: its secret is shown this once and never stored in clear. */
  created?: { key: string; name: string };
  document: Record<string, unknown>;
}

/** What a partner needs to use the API: their keys, how to call it, and the reference. */
export function PartnerPage(props: { data: PartnerData }) {
  const { baseUrl, keys, reservations, created, document } = props.data;
  const active = keys.filter((k) => k.revokedAt === null);
  return (
    <>
      <h1>API access</h1>
      <div class="sub">{`Your API keys and the REST API reference · times in ${timeZoneLabel}`}</div>
      <div class="grid2" style="margin-top:0">
        <div class="card">
          <h2>Calling the API</h2>
          <p style="font-size:13px">
            Send a key in the <code>X-API-Key</code> header (or as <code>Authorization: Bearer …</code>):
          </p>
          <pre
            class="tokens"
            style="white-space:pre-wrap"
          >{`curl -H 'X-API-Key: bvk_…' ${baseUrl}/api/v1/products`}</pre>
          <p style="font-size:13px">
            A key acts with the partner role: products, stock, reservations. Errors are JSON,{' '}
            <code>{'{ "error": { "code", "message" } }'}</code>; bodies over their limit get 413, too many
            failed logins 429 with <code>Retry-After</code>.
          </p>
          <p style="font-size:13px">
            To hear about orders, payments, low stock and device state, add a webhook endpoint on{' '}
            <a href="/partner/webhooks" data-testid="partner-webhooks-link">
              Webhooks
            </a>
            .
          </p>
        </div>
        <div class="card">
          <h2>New key</h2>
          <form method="post" action="/partner/api-keys" class="inline" data-testid="api-key-form">
            <label for="key-name">Name</label>
            <input id="key-name" name="name" required maxlength={200} placeholder="e.g. shop backend" />
            <button type="submit" data-testid="api-key-create">
              Create key
            </button>
          </form>
          {created ? (
            <div data-testid="api-key-created">
              <p class="error" style="color:var(--ink)">
                Key <b>{created.name}</b> created. Copy it now: it is not shown again.
              </p>
              <div class="tokens" data-testid="api-key-secret">
                {created.key}
              </div>
            </div>
          ) : null}
        </div>
      </div>
      <h2 style="margin-top:20px">{`Your keys (${active.length} active)`}</h2>
      {keys.length === 0 ? (
        <p class="none">No keys yet.</p>
      ) : (
        <table data-testid="api-keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Created</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr data-testid="api-key-row" data-key-id={k.id}>
                <td>{k.name}</td>
                <td class="num">{formatTime(k.createdAt)}</td>
                <td>
                  {k.revokedAt ? (
                    <span class="pill expired">{`revoked ${formatTime(k.revokedAt)}`}</span>
                  ) : (
                    <span class="pill on">active</span>
                  )}
                </td>
                <td>
                  {k.revokedAt ? null : (
                    <form method="post" action={`/partner/api-keys/${k.id}/revoke`} style="margin:0">
                      <button
                        type="submit"
                        style="background:var(--bad);border-color:var(--bad)"
                        data-testid="api-key-revoke"
                      >
                        Revoke
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2 style="margin-top:20px">Your reservations</h2>
      {reservations.length === 0 ? (
        <p class="none" data-testid="reservations-none">
          None yet: <code>POST /api/v1/reservations</code> holds units of a SKU for an order.
        </p>
      ) : (
        <table data-testid="reservations">
          <thead>
            <tr>
              <th>Reference</th>
              <th>SKU</th>
              <th>Quantity</th>
              <th>Status</th>
              <th>Expires</th>
              <th>Id</th>
            </tr>
          </thead>
          <tbody>
            {reservations.map((r) => (
              <tr data-testid="reservation-row" data-reservation-id={r.id}>
                <td>{r.reference}</td>
                <td>{r.sku}</td>
                <td class="num">{r.quantity}</td>
                <td>
                  <span class={`pill ${r.status === 'active' ? 'on' : 'expired'}`}>{r.status}</span>
                </td>
                <td class="num">{formatTime(r.expiresAt)}</td>
                <td>
                  <code style="font-size:12px">{r.id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div style="margin-top:28px">
        <ApiDocs document={document} />
      </div>
    </>
  );
}
