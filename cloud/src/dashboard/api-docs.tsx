/**
 * The REST API's reference, rendered on the server from the same OpenAPI document `/openapi.json`
 * serves (no client script, no CDN assets): one section per tag, one entry per operation with who
 * may call it, its parameters, body and answers.
 */

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  summary: string;
  tag: string;
  access: string;
  parameters: { name: string; in: string; required: boolean; schema: Json }[];
  body?: { schema: Json; description?: string };
  responses: { status: string; description: string }[];
}

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A JSON schema as a short type, `{ sku: string, quantity: integer ≥ 1 }`, nested to `depth`. */
export function typeText(schema: Json, depth = 3): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const variants = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (Array.isArray(variants)) return variants.map((v) => typeText(obj(v), depth)).join(' | ');
  const nullable = schema.nullable === true ? ' | null' : '';
  const type = str(schema.type);
  if (type === 'array') return `${typeText(obj(schema.items), depth)}[]${nullable}`;
  if (type === 'object' || schema.properties) {
    const props = obj(schema.properties);
    const names = Object.keys(props);
    if (names.length === 0) return `object${nullable}`;
    if (depth <= 0) return `{ … }${nullable}`;
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const fields = names.map(
      (n) => `${n}${required.has(n) ? '' : '?'}: ${typeText(obj(props[n]), depth - 1)}`,
    );
    return `{ ${fields.join(', ')} }${nullable}`;
  }
  const bounds = [
    typeof schema.minimum === 'number' ? `≥ ${schema.minimum}` : '',
    typeof schema.maximum === 'number' ? `≤ ${schema.maximum}` : '',
    typeof schema.maxLength === 'number' ? `≤ ${schema.maxLength} chars` : '',
    str(schema.format),
  ].filter(Boolean);
  return `${type || 'any'}${bounds.length ? ` (${bounds.join(', ')})` : ''}${nullable}`;
}

export function operationsOf(document: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(obj(document.paths))) {
    for (const [method, raw] of Object.entries(obj(methods))) {
      const op = obj(raw);
      const access = op['x-bitv-access'];
      const content = obj(obj(obj(op.requestBody).content)['application/json']);
      ops.push({
        method: method.toUpperCase(),
        path,
        summary: str(op.summary),
        tag: Array.isArray(op.tags) ? str(op.tags[0]) : '',
        access: Array.isArray(access) ? access.join(', ') : str(access),
        parameters: (Array.isArray(op.parameters) ? op.parameters : []).map((p) => {
          const q = obj(p);
          return { name: str(q.name), in: str(q.in), required: q.required === true, schema: obj(q.schema) };
        }),
        ...(op.requestBody
          ? { body: { schema: obj(content.schema), description: str(obj(op.requestBody).description) } }
          : {}),
        responses: Object.entries(obj(op.responses)).map(([status, r]) => ({
          status,
          description: str(obj(r).description),
        })),
      });
    }
  }
  return ops;
}

export function ApiDocs(props: { document: Json }) {
  const info = obj(props.document.info);
  const ops = operationsOf(props.document);
  const tags = [...new Set(ops.map((o) => o.tag))];
  return (
    <section data-testid="api-docs">
      <h2>
        {str(info.title)} {str(info.version)}
      </h2>
      <p class="sub">
        {str(info.description)} The same document as JSON: <a href="/openapi.json">/openapi.json</a>.
      </p>
      <nav class="sub">
        {tags.map((t) => (
          <a href={`#tag-${t}`} style="margin-right:12px">
            {t}
          </a>
        ))}
      </nav>
      {tags.map((tag) => (
        <div id={`tag-${tag}`}>
          <h2 style="margin-top:20px">{tag}</h2>
          {ops
            .filter((o) => o.tag === tag)
            .map((o) => (
              <details class="card" style="margin-bottom:8px" data-testid="api-operation">
                <summary style="cursor:pointer">
                  <span class="pill sent" style="min-width:56px;text-align:center">
                    {o.method}
                  </span>{' '}
                  <code>{o.path}</code> <span class="none">{o.summary}</span>
                </summary>
                <div style="margin-top:10px;font-size:13px">
                  <div>
                    <b>Who:</b> {o.access}
                  </div>
                  {o.parameters.length > 0 ? (
                    <div>
                      <b>Parameters:</b>{' '}
                      {o.parameters.map((p) => (
                        <div>
                          <code>{p.name}</code> ({p.in}
                          {p.required ? ', required' : ''}): {typeText(p.schema)}
                        </div>
                      ))}
                    </div>
                  ) : null}
                  {o.body ? (
                    <div>
                      <b>Body</b> ({o.body.description}): <code>{typeText(o.body.schema)}</code>
                    </div>
                  ) : null}
                  <div>
                    <b>Answers:</b>{' '}
                    {o.responses.map((r) => (
                      <div>
                        <code>{r.status}</code> {r.description}
                      </div>
                    ))}
                  </div>
                </div>
              </details>
            ))}
        </div>
      ))}
    </section>
  );
}
