import { BitvError, NotFoundError, ValidationError } from '@bitv/shared';
import { formatIssue } from '@bitv/shared/events';
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import { actorOf } from '../api/principal.js';
import type { DashboardKit, UserPrincipal } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import type { Catalog, StockView } from './catalog.js';
import { CatalogListPage, catalogCss, type FormValues, NewProductPage, ProductPage } from './catalog-page.js';
import { StaleVersionError } from './errors.js';
import { toMinor } from './money.js';
import { createInput, patchInput, skuParam } from './product.js';
import { categories } from './store.js';

export const catalogNav: NavEntry = {
  id: 'catalog',
  href: '/catalog',
  label: 'Catalog',
  roles: [...staffRoles],
  order: 30,
  testId: 'nav-catalog',
};

const editors: ReadonlySet<string> = new Set(['operator', 'admin']);
const statuses = new Set(['draft', 'active', 'archived']);

type Form = Record<string, string | File>;
const text = (form: Form, name: string) => {
  const v = form[name];
  return typeof v === 'string' ? v : '';
};

function stringsOf(form: Form): FormValues {
  return Object.fromEntries(
    Object.entries(form).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(result.error.issues.map(formatIssue).join('; '));
  return result.data;
}

function number(form: Form, name: string): number {
  const raw = text(form, name).trim();
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) throw new ValidationError(`${name} must be a number`);
  return n;
}

/** A form's fields as the API's body: the same schema decides what is valid. */
function fieldsOf(form: Form) {
  const amount = text(form, 'price').trim();
  const currency = text(form, 'currency').trim().toUpperCase();
  let attributes: unknown;
  try {
    attributes = JSON.parse(text(form, 'attributes') || '{}');
  } catch {
    throw new ValidationError('attributes must be a JSON object, like {"colour": "red"}');
  }
  return {
    name: text(form, 'name'),
    description: text(form, 'description'),
    category: text(form, 'category').trim() || null,
    status: text(form, 'status'),
    price: amount === '' ? null : { amountMinor: toMinor(amount, currency), currency },
    unitWeightG: number(form, 'unitWeightG'),
    toleranceG: number(form, 'toleranceG'),
    attributes,
  };
}

/** The catalog pages: list with filters and search, a product with its history, editing for operators. */
export function catalogPages(deps: { kit: DashboardKit; catalog: Catalog }): Hono {
  const { kit, catalog } = deps;
  const app = new Hono();

  const staff = async (c: Context): Promise<UserPrincipal | Response> => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!staffRoles.has(user.role)) return kit.forbidden(c);
    return user;
  };

  const productPage = async (
    c: Context,
    user: UserPrincipal,
    sku: string,
    refused?: { error: string; submitted?: FormValues },
  ) => {
    const product = await catalog.getUncached(sku);
    const [history, stock] = await Promise.all([
      catalog.history(sku),
      catalog.stock(sku).catch((e: unknown): StockView | undefined => {
        // no inventory mounted here, or a product no bin holds: shown as unknown
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }),
    ]);
    const actorName = await kit.actorNames([
      ...history.map((h) => h.actor),
      ...(product.updatedBy ? [product.updatedBy] : []),
    ]);
    const body = (
      <>
        <style>{catalogCss}</style>
        <ProductPage
          data={{ product, history, stock, actorName, canEdit: editors.has(user.role), ...refused }}
        />
      </>
    );
    return kit.page(c, { title: `${product.name} · Catalog`, active: 'catalog', user }, body);
  };

  app.get('/catalog', async (c) => {
    const user = await staff(c);
    if (user instanceof Response) return user;
    const q = c.req.query('q')?.slice(0, 200) || undefined;
    const category = c.req.query('category')?.slice(0, 100) || undefined;
    const statusParam = c.req.query('status');
    const status = statusParam && statuses.has(statusParam) ? (statusParam as 'draft') : undefined;
    const cursor = c.req.query('cursor') || undefined;
    const [page, cats] = await Promise.all([
      catalog.list({ q, category, status, cursor, limit: 50 }),
      categories(catalog.db),
    ]);
    return kit.page(
      c,
      { title: 'Catalog', active: 'catalog', user },
      <>
        <style>{catalogCss}</style>
        <CatalogListPage
          data={{
            ...page,
            filters: { q, category, status },
            categories: cats,
            canEdit: editors.has(user.role),
          }}
        />
      </>,
    );
  });

  app.get('/catalog/new', async (c) => {
    const user = await staff(c);
    if (user instanceof Response) return user;
    if (!editors.has(user.role)) return kit.forbidden(c);
    return kit.page(
      c,
      { title: 'New product', active: 'catalog', user },
      <>
        <style>{catalogCss}</style>
        <NewProductPage />
      </>,
    );
  });

  app.post('/catalog', async (c) => {
    const user = await staff(c);
    if (user instanceof Response) return user;
    if (!editors.has(user.role)) return kit.forbidden(c);
    const form = (await c.req.parseBody()) as Form;
    try {
      const input = parse(createInput, { sku: text(form, 'sku').trim(), ...fieldsOf(form) });
      const product = await catalog.create(input, actorOf(user));
      return c.redirect(`/catalog/${encodeURIComponent(product.sku)}`, 303);
    } catch (error) {
      if (!(error instanceof BitvError) || error.retriable) throw error;
      return kit.page(
        c,
        { title: 'New product', active: 'catalog', user },
        <>
          <style>{catalogCss}</style>
          <NewProductPage
            error={error.message}
            values={Object.fromEntries(
              Object.entries(form).filter((e): e is [string, string] => typeof e[1] === 'string'),
            )}
          />
        </>,
      );
    }
  });

  app.get('/catalog/:sku', async (c) => {
    const user = await staff(c);
    if (user instanceof Response) return user;
    const { sku } = parse(skuParam, { sku: c.req.param('sku') });
    return productPage(c, user, sku);
  });

  const edit = (archive: boolean) => async (c: Context) => {
    const user = await staff(c);
    if (user instanceof Response) return user;
    if (!editors.has(user.role)) return kit.forbidden(c);
    const { sku } = parse(skuParam, { sku: c.req.param('sku') });
    const form = (await c.req.parseBody()) as Form;
    try {
      const version = Number(text(form, 'version'));
      if (!Number.isInteger(version) || version < 0)
        throw new ValidationError('the form has no version: reload the page');
      if (archive) await catalog.archive(sku, version, actorOf(user));
      else await catalog.update(sku, version, parse(patchInput, fieldsOf(form)), actorOf(user));
      return c.redirect(`/catalog/${encodeURIComponent(sku)}`, 303);
    } catch (error) {
      // a refused edit (bad field, someone else's newer change) shows the form again with why
      if (!(error instanceof BitvError) || error.retriable || error instanceof NotFoundError) throw error;
      // stale: the form shows the current values to reapply the change to; otherwise what was sent
      const submitted = error instanceof StaleVersionError ? undefined : stringsOf(form);
      return productPage(c, user, sku, { error: error.message, submitted });
    }
  };
  app.post('/catalog/:sku', edit(false));
  app.post('/catalog/:sku/archive', edit(true));
  return app;
}
