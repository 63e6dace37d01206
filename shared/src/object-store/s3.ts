import { AwsClient } from 'aws4fetch';
import { BitvError, NotFoundError, UnavailableError, ValidationError } from '../errors/index.js';
import { checkKey, checkPrefix, checkRange } from './key.js';
import type { ByteRange, ObjectInfo, ObjectStore } from './port.js';

export interface S3Options {
  /** Service URL, e.g. `http://127.0.0.1:8090` (S3Proxy, MinIO) or `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Per request; a slow store must not hang a rollout. */
  timeoutMs: number;
  /** Creates the bucket on first use when it is missing (dev and tests; production buckets exist). */
  createBucket: boolean;
}

export const defaultS3Options = { region: 'us-east-1', timeoutMs: 30_000, createBucket: false };

/**
 * S3-compatible store over plain HTTP with SigV4 signing (aws4fetch), path-style addressing so it
 * works with S3Proxy and MinIO as well as AWS. Network failures and 5xx are `UnavailableError`
 * (retriable); 4xx are not.
 */
export function s3ObjectStore(
  options: Omit<S3Options, keyof typeof defaultS3Options> & Partial<S3Options>,
): ObjectStore {
  const o: S3Options = { ...defaultS3Options, ...options };
  // aws4fetch's own retries would hide failures from the caller's retry policy.
  const client = new AwsClient({
    accessKeyId: o.accessKeyId,
    secretAccessKey: o.secretAccessKey,
    service: 's3',
    region: o.region,
    retries: 0,
  });
  const base = `${o.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(o.bucket)}`;
  const urlOf = (key: string) => `${base}/${checkKey(key).split('/').map(encodeURIComponent).join('/')}`;
  let bucketReady: Promise<void> | undefined;

  async function request(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await client.fetch(url, { ...init, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (error) {
      throw new UnavailableError(`s3 ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  async function fail(res: Response, what: string): Promise<never> {
    const body = await res.text().catch(() => '');
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? res.statusText;
    const message = `s3 ${what}: HTTP ${res.status} ${code}`;
    if (res.status === 404) throw new NotFoundError(message);
    if (res.status >= 500 || res.status === 429) throw new UnavailableError(message);
    throw new BitvError('object_store_refused', message, { details: { status: res.status, code } });
  }

  function ready(): Promise<void> {
    if (!o.createBucket) return Promise.resolve();
    bucketReady ??= (async () => {
      const res = await request(base, { method: 'PUT' }, `create bucket ${o.bucket}`);
      await res.arrayBuffer();
      // 409 BucketAlreadyOwnedByYou / BucketAlreadyExists: it is there, which is all we asked.
      if (!res.ok && res.status !== 409) await fail(res, `create bucket ${o.bucket}`);
    })().catch((error: unknown) => {
      bucketReady = undefined;
      throw error;
    });
    return bucketReady;
  }

  async function stat(key: string): Promise<ObjectInfo | undefined> {
    await ready();
    const res = await request(urlOf(key), { method: 'HEAD' }, `stat ${key}`);
    if (res.status === 404) return undefined;
    if (!res.ok) await fail(res, `stat ${key}`);
    return {
      key,
      size: Number(res.headers.get('content-length') ?? 0),
      modifiedAt: new Date(res.headers.get('last-modified') ?? 0),
    };
  }

  return {
    kind: 's3',
    async put(key, data, put) {
      await ready();
      const headers: Record<string, string> = {
        'content-type': put?.contentType ?? 'application/octet-stream',
      };
      const res = await request(urlOf(key), { method: 'PUT', body: data, headers }, `put ${key}`);
      await res.arrayBuffer();
      if (!res.ok) await fail(res, `put ${key}`);
      const info = await stat(key);
      if (!info) throw new UnavailableError(`s3 put ${key}: not visible after a successful PUT`);
      return info;
    },
    async get(key, range?: ByteRange) {
      await ready();
      const headers: Record<string, string> = {};
      if (range) {
        checkRange(range);
        if (range.length === 0) {
          const info = await stat(key);
          if (!info) throw new NotFoundError(`object ${key} not found`);
          if (range.offset > info.size) throw new ValidationError(`object ${key}: range past its end`);
          return new Uint8Array(0);
        }
        const last = range.length === undefined ? '' : String(range.offset + range.length - 1);
        headers.range = `bytes=${range.offset}-${last}`;
      }
      const res = await request(urlOf(key), { method: 'GET', headers }, `get ${key}`);
      if (res.status === 416 && range) {
        // Unsatisfiable: either exactly at the end (no bytes, by our contract) or past it.
        await res.arrayBuffer();
        const info = await stat(key);
        if (!info) throw new NotFoundError(`object ${key} not found`);
        if (range.offset === info.size) return new Uint8Array(0);
        throw new ValidationError(
          `object ${key}: range starts at ${range.offset}, past its ${info.size} bytes`,
        );
      }
      if (!res.ok) await fail(res, `get ${key}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    stat,
    async list(prefix = '') {
      await ready();
      checkPrefix(prefix);
      const out: ObjectInfo[] = [];
      let token: string | undefined;
      do {
        const q = new URLSearchParams({ 'list-type': '2', prefix });
        if (token) q.set('continuation-token', token);
        const res = await request(`${base}?${q}`, { method: 'GET' }, `list ${prefix}`);
        if (!res.ok) await fail(res, `list ${prefix}`);
        const page = parseListPage(await res.text());
        out.push(...page.objects);
        token = page.next;
      } while (token);
      return out.sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    async delete(key) {
      await ready();
      const res = await request(urlOf(key), { method: 'DELETE' }, `delete ${key}`);
      await res.arrayBuffer();
      if (!res.ok && res.status !== 404) await fail(res, `delete ${key}`);
    },
    async close() {
      // fetch keeps no connection we own.
    },
  };
}

/** ListObjectsV2 result: `<Contents>` entries and the continuation token when truncated. */
export function parseListPage(xml: string): { objects: ObjectInfo[]; next?: string } {
  const objects: ObjectInfo[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const body = m[1]!;
    const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
    const key = field('Key');
    if (key === undefined) continue;
    objects.push({
      key: unescapeXml(key),
      size: Number(field('Size') ?? 0),
      modifiedAt: new Date(field('LastModified') ?? 0),
    });
  }
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
  const next = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1];
  return truncated && next ? { objects, next: unescapeXml(next) } : { objects };
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
