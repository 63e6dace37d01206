import type { HistoryEntry, StockView } from './catalog.js';
import { formatPrice, fromMinor } from './money.js';
import type { Audited } from './product.js';

export const catalogCss = `
.catalog .filters{margin:12px 0}
.catalog td.sku{font-family:ui-monospace,monospace}
.catalog .pill.draft{background:#fef3c7;color:#92400e}.catalog .pill.active{background:#dcfce7;color:#166534}
.catalog .pill.archived{background:#e5e7eb;color:#374151}
.catalog dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0}
.catalog dt{color:var(--muted);font-size:13px}
.catalog form.edit label{display:block;font-size:13px;color:var(--muted);margin:10px 0 4px}
.catalog form.edit input,.catalog form.edit textarea,.catalog form.edit select{width:100%;box-sizing:border-box}
.catalog form.edit textarea{font:inherit;font-size:13px;padding:6px 9px;border:1px solid var(--line);border-radius:7px;min-height:70px}
.catalog .row{display:flex;gap:10px}.catalog .row>*{flex:1}
.catalog .actions{display:flex;gap:8px;margin-top:14px}
.catalog .pager{margin-top:10px}
`;

export interface ListData {
  products: Audited[];
  nextCursor: string | null;
  filters: { q?: string; category?: string; status?: string };
  categories: string[];
  canEdit: boolean;
}

function StatusPill(props: { status: string }) {
  return <span class={`pill ${props.status}`}>{props.status}</span>;
}

function nextHref(filters: ListData['filters'], cursor: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  params.set('cursor', cursor);
  return `/catalog?${params}`;
}

/** The product list with its filters and search. */
export function CatalogListPage(props: { data: ListData }) {
  const { products, nextCursor, filters, categories, canEdit } = props.data;
  return (
    <div class="catalog" id="catalog">
      <h1>Catalog</h1>
      <form class="inline filters" method="get" action="/catalog" data-testid="catalog-filters">
        <input type="search" name="q" value={filters.q ?? ''} placeholder="Search SKU, name, description" />
        <select name="category" data-testid="filter-category">
          <option value="">All categories</option>
          {categories.map((c) => (
            <option value={c} selected={filters.category === c}>
              {c}
            </option>
          ))}
        </select>
        <select name="status" data-testid="filter-status">
          <option value="">Draft and active</option>
          {['draft', 'active', 'archived'].map((s) => (
            <option value={s} selected={filters.status === s}>
              {s}
            </option>
          ))}
        </select>
        <button type="submit">Filter</button>
        {canEdit ? (
          <a href="/catalog/new" data-testid="catalog-new">
            New product
          </a>
        ) : null}
      </form>
      {products.length === 0 ? (
        <p class="none" data-testid="catalog-empty">
          No products match.
        </p>
      ) : (
        <table data-testid="catalog-list">
          <thead>
            <tr>
              <th>SKU</th>
              <th>Name</th>
              <th>Category</th>
              <th>Price</th>
              <th>Status</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {products.map((p) => (
              <tr data-sku={p.sku}>
                <td class="sku">
                  <a href={`/catalog/${encodeURIComponent(p.sku)}`}>{p.sku}</a>
                </td>
                <td>{p.name}</td>
                <td>{p.category ?? '—'}</td>
                <td class="num">{formatPrice(p.priceMinor, p.currency)}</td>
                <td>
                  <StatusPill status={p.status} />
                </td>
                <td class="num">{String(p.version)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor ? (
        <p class="pager">
          <a href={nextHref(filters, nextCursor)} data-testid="catalog-next">
            Next page
          </a>
        </p>
      ) : null}
    </div>
  );
}

export interface DetailData {
  product: Audited;
  history: HistoryEntry[];
  stock: StockView | undefined;
  /** Names a stored actor (`user:<id>`) as people read it. */
  actorName: (actor: string) => string;
  canEdit: boolean;
  /** A refused edit: the message, shown above the form. */
  error?: string;
  /** What the refused form held (its version included), shown again instead of the stored values. */
  submitted?: FormValues;
}

/** A product: its fields, availability, history, and for editors the edit form. */
export function ProductPage(props: { data: DetailData }) {
  const { product: p, history, stock, actorName, canEdit, error, submitted } = props.data;
  return (
    <div class="catalog" id="product" data-sku={p.sku} data-version={String(p.version)}>
      <h1>
        {p.name} <StatusPill status={p.status} />
      </h1>
      <div class="sub">
        <a href="/catalog">Catalog</a> · {p.sku} · version {String(p.version)}
      </div>
      <div class="grid2">
        <div class="card">
          <dl data-testid="product-fields">
            <dt>Price</dt>
            <dd data-testid="product-price">{formatPrice(p.priceMinor, p.currency)}</dd>
            <dt>Category</dt>
            <dd>{p.category ?? '—'}</dd>
            <dt>Description</dt>
            <dd>{p.description || '—'}</dd>
            <dt>Unit weight</dt>
            <dd>{`${p.unitWeightG} g ± ${p.toleranceG} g`}</dd>
            <dt>Attributes</dt>
            <dd>
              {Object.keys(p.attributes).length === 0
                ? '—'
                : Object.entries(p.attributes)
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(' · ')}
            </dd>
            <dt>Available</dt>
            <dd data-testid="product-available">
              {stock ? `${stock.available} (${stock.onHand} on hand, ${stock.reserved} reserved)` : '—'}
            </dd>
            <dt>Updated</dt>
            <dd>{`${p.updatedAt.slice(0, 19).replace('T', ' ')} by ${p.updatedBy ? actorName(p.updatedBy) : '—'}`}</dd>
          </dl>
        </div>
        {canEdit ? <EditForm product={p} error={error} submitted={submitted} /> : <div />}
      </div>
      <h2>History</h2>
      <table data-testid="product-history">
        <thead>
          <tr>
            <th>Version</th>
            <th>Change</th>
            <th>Fields</th>
            <th>By</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {[...history].reverse().map((h) => (
            <tr data-version={String(h.version)}>
              <td class="num">{String(h.version)}</td>
              <td>{h.type.replace(/^bv\.catalog\.product-/, '').replace(/\.v\d+$/, '')}</td>
              <td>{h.changed.join(', ')}</td>
              <td>{actorName(h.actor)}</td>
              <td>{h.at.slice(0, 19).replace('T', ' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {history.length === 0 ? (
        <p class="none">Made before the catalog kept history; changes show here.</p>
      ) : null}
    </div>
  );
}

function EditForm(props: { product: Audited; error: string | undefined; submitted: FormValues | undefined }) {
  const p = props.product;
  return (
    <form
      class="card edit"
      method="post"
      action={`/catalog/${encodeURIComponent(p.sku)}`}
      data-testid="product-edit"
    >
      {props.error ? (
        <p class="error" data-testid="product-error">
          {props.error}
        </p>
      ) : null}
      <input type="hidden" name="version" value={props.submitted?.version ?? String(p.version)} />
      <ProductFields values={props.submitted ?? formValues(p)} />
      <div class="actions">
        <button type="submit" data-testid="product-save">
          Save
        </button>
        {p.status !== 'archived' ? (
          <button
            type="submit"
            formaction={`/catalog/${encodeURIComponent(p.sku)}/archive`}
            data-testid="product-archive"
          >
            Archive
          </button>
        ) : null}
      </div>
    </form>
  );
}

/** A form's text fields: a product's values, or what was submitted when the form comes back refused. */
export type FormValues = Partial<Record<string, string>>;

export function formValues(p: Audited): FormValues {
  return {
    name: p.name,
    description: p.description,
    category: p.category ?? '',
    status: p.status,
    price: p.priceMinor !== null && p.currency ? fromMinor(p.priceMinor, p.currency) : '',
    currency: p.currency ?? 'EUR',
    unitWeightG: String(p.unitWeightG),
    toleranceG: String(p.toleranceG),
    attributes: JSON.stringify(p.attributes),
  };
}

/** The editable fields, shared by the edit and the new-product forms. */
export function ProductFields(props: { values: FormValues }) {
  const v = props.values;
  return (
    <>
      <label for="name">Name</label>
      <input id="name" name="name" value={v.name ?? ''} required maxlength={200} />
      <label for="description">Description</label>
      <textarea id="description" name="description" maxlength={5000}>
        {v.description ?? ''}
      </textarea>
      <div class="row">
        <div>
          <label for="category">Category</label>
          <input id="category" name="category" value={v.category ?? ''} maxlength={100} />
        </div>
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            {['draft', 'active'].map((s) => (
              <option value={s} selected={(v.status ?? 'draft') === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="row">
        <div>
          <label for="price">Price</label>
          <input id="price" name="price" inputmode="decimal" value={v.price ?? ''} placeholder="none" />
        </div>
        <div>
          <label for="currency">Currency</label>
          <input id="currency" name="currency" value={v.currency ?? 'EUR'} maxlength={3} />
        </div>
      </div>
      <div class="row">
        <div>
          <label for="unitWeightG">Unit weight (g)</label>
          <input
            id="unitWeightG"
            name="unitWeightG"
            inputmode="decimal"
            value={v.unitWeightG ?? ''}
            required
          />
        </div>
        <div>
          <label for="toleranceG">Tolerance (g)</label>
          <input id="toleranceG" name="toleranceG" inputmode="decimal" value={v.toleranceG ?? ''} required />
        </div>
      </div>
      <label for="attributes">Attributes (JSON object)</label>
      <textarea id="attributes" name="attributes">
        {v.attributes ?? '{}'}
      </textarea>
    </>
  );
}

/** A new product: SKU plus the editable fields. */
export function NewProductPage(props: { error?: string; values?: FormValues }) {
  return (
    <div class="catalog">
      <h1>New product</h1>
      <form class="card edit" method="post" action="/catalog" data-testid="product-new">
        {props.error ? (
          <p class="error" data-testid="product-error">
            {props.error}
          </p>
        ) : null}
        <label for="sku">SKU</label>
        <input id="sku" name="sku" value={props.values?.sku ?? ''} required maxlength={64} />
        <ProductFields values={props.values ?? {}} />
        <div class="actions">
          <button type="submit" data-testid="product-create">
            Create
          </button>
        </div>
      </form>
    </div>
  );
}
