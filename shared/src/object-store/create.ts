import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import { folderObjectStore } from './folder.js';
import type { ObjectStore } from './port.js';
import { s3ObjectStore } from './s3.js';

/**
 * Which store a process uses, read once at start: S3 when `BV_S3_ENDPOINT` (or `S3_ENDPOINT`) is
 * set, else the folder `BV_OBJECT_STORE_DIR` (default `<dataDir>/objects`).
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `BV_S3_ENDPOINT` | unset | S3-compatible service URL; unset means the folder store |
 * | `BV_S3_BUCKET` | `bitv-firmware` | bucket |
 * | `BV_S3_REGION` | `us-east-1` | SigV4 region |
 * | `BV_S3_ACCESS_KEY_ID`, `BV_S3_SECRET_ACCESS_KEY` | required with an endpoint | credentials |
 * | `BV_S3_TIMEOUT_MS` | `30000` | per request |
 * | `BV_S3_CREATE_BUCKET` | `false` | create the bucket when missing |
 * | `BV_OBJECT_STORE_DIR` | `<dataDir>/objects` | the folder store's root |
 */
export type ObjectStoreConfig =
  | { kind: 'folder'; dir: string }
  | {
      kind: 's3';
      endpoint: string;
      bucket: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      timeoutMs: number;
      createBucket: boolean;
    };

const s3Env = z.object({
  BV_S3_ENDPOINT: z.url(),
  BV_S3_BUCKET: z.string().min(3).default('bitv-firmware'),
  BV_S3_REGION: z.string().min(1).default('us-east-1'),
  BV_S3_ACCESS_KEY_ID: z.string().min(1),
  BV_S3_SECRET_ACCESS_KEY: z.string().min(1),
  BV_S3_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  BV_S3_CREATE_BUCKET: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});

export function objectStoreConfigFromEnv(
  env: Record<string, string | undefined>,
  defaultDir: string,
): ObjectStoreConfig {
  const endpoint = env.BV_S3_ENDPOINT ?? env.S3_ENDPOINT;
  if (!endpoint) return { kind: 'folder', dir: env.BV_OBJECT_STORE_DIR ?? defaultDir };
  const parsed = s3Env.safeParse({ ...env, BV_S3_ENDPOINT: endpoint });
  if (!parsed.success)
    throw new ValidationError(`object store settings: ${z.prettifyError(parsed.error)}`, {
      details: { issues: parsed.error.issues },
    });
  const e = parsed.data;
  return {
    kind: 's3',
    endpoint: e.BV_S3_ENDPOINT,
    bucket: e.BV_S3_BUCKET,
    region: e.BV_S3_REGION,
    accessKeyId: e.BV_S3_ACCESS_KEY_ID,
    secretAccessKey: e.BV_S3_SECRET_ACCESS_KEY,
    timeoutMs: e.BV_S3_TIMEOUT_MS,
    createBucket: e.BV_S3_CREATE_BUCKET,
  };
}

export function openObjectStore(config: ObjectStoreConfig): ObjectStore {
  return config.kind === 'folder' ? folderObjectStore(config.dir) : s3ObjectStore(config);
}
