import { ValidationError } from '../errors/index.js';
import type { ObjectStoreConfig } from './create.js';

/**
 * One setting that names a store (an agent's `BV_FIRMWARE_STORE`):
 * - `file:///var/lib/bitv/firmware` (or a plain absolute path): the folder store;
 * - `s3+http://KEY:SECRET@host:port/bucket?region=us-east-1` or `s3+https://...`: S3-compatible
 *   (the key and secret URL-encoded). `timeoutMs` is a query parameter too (default 30000).
 */
export function objectStoreFromUrl(text: string): ObjectStoreConfig {
  if (text.startsWith('/')) return { kind: 'folder', dir: text };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`object store URL is not a URL: ${text.replace(/\/\/[^@]*@/, '//***@')}`);
  }
  if (url.protocol === 'file:') return { kind: 'folder', dir: decodeURIComponent(url.pathname) };
  if (url.protocol !== 's3+http:' && url.protocol !== 's3+https:')
    throw new ValidationError(`object store URL must be file:, s3+http: or s3+https:, not ${url.protocol}`);
  const bucket = url.pathname.replace(/^\/+|\/+$/g, '');
  if (!bucket || bucket.includes('/'))
    throw new ValidationError('object store URL: name one bucket as the path');
  if (!url.username || !url.password)
    throw new ValidationError('object store URL: give KEY:SECRET@ before the host');
  const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 30_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new ValidationError('object store URL: bad timeoutMs');
  return {
    kind: 's3',
    endpoint: `${url.protocol.slice(3)}//${url.host}`,
    bucket,
    region: url.searchParams.get('region') ?? 'us-east-1',
    accessKeyId: decodeURIComponent(url.username),
    secretAccessKey: decodeURIComponent(url.password),
    timeoutMs,
    createBucket: false,
  };
}
