import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { BitvError, UnauthenticatedError, UnavailableError, ValidationError } from '@bitv/shared/errors';
import { retry } from '@bitv/shared/retry';
import { z } from 'zod';
import { agentVersion } from './version.js';

/** The cloud's answer to provisioning and rotation (contracts.md). */
const provisioned = z.object({
  gatewayId: z.string().min(1),
  groupId: z.string().min(1),
  edgeNodeId: z.string().min(1),
  credential: z.string().min(1),
  credentialExpiresAt: z.string().min(1),
  brokerUrl: z.string().url(),
  primaryHostId: z.string().min(1),
});

export type ProvisionResult = z.infer<typeof provisioned>;

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export interface ProvisionOptions {
  claimToken: string;
  cloudUrl: string;
  hostname?: string;
  /** Where to write the agent's config; existing keys that provisioning does not set are kept. */
  configFile?: string;
  /** Written into the config as `dataDir` (the outbox folder). */
  dataDir?: string;
  fetch?: typeof fetch;
}

/**
 * `POST <cloud>/api/v1/provision` with the one-time claim token; writes the agent's config
 * (ids, broker URL, credential) when `configPath` is given. Network failures and 5xx are retried;
 * 400/401 are not (the token is wrong, used or expired).
 */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const result = await call(options.fetch ?? fetch, new URL('/api/v1/provision', options.cloudUrl), {
    body: { claimToken: options.claimToken, hostname: options.hostname ?? osHostname(), agentVersion },
  });
  if (options.configFile) writeAgentConfig(options.configFile, result, options.cloudUrl, options.dataDir);
  return result;
}

export interface RotateOptions {
  cloudUrl: string;
  gatewayId: string;
  /** The current device JWT (Bearer). */
  credential: string;
  configFile?: string;
  fetch?: typeof fetch;
}

/** `POST <cloud>/api/v1/gateways/:id/credential/rotate` with the current credential. */
export async function rotateCredential(options: RotateOptions): Promise<ProvisionResult> {
  const url = new URL(
    `/api/v1/gateways/${encodeURIComponent(options.gatewayId)}/credential/rotate`,
    options.cloudUrl,
  );
  const result = await call(options.fetch ?? fetch, url, { bearer: options.credential });
  if (options.configFile) writeAgentConfig(options.configFile, result, options.cloudUrl);
  return result;
}

async function call(
  f: typeof fetch,
  url: URL,
  opts: { body?: unknown; bearer?: string },
): Promise<ProvisionResult> {
  return retry(
    async () => {
      let response: Response;
      try {
        response = await f(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
          },
          body: JSON.stringify(opts.body ?? {}),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        throw new UnavailableError(`cannot reach ${url.origin}: ${String(error)}`, { cause: error });
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined; // not JSON: reported below with the status
      }
      if (response.ok) {
        const parsed = provisioned.safeParse(json);
        if (!parsed.success)
          throw new ValidationError(`unexpected answer from ${url.pathname}: ${parsed.error.message}`);
        return parsed.data;
      }
      const err = errorBody.safeParse(json);
      const message = err.success
        ? `${err.data.error.code}: ${err.data.error.message}`
        : `HTTP ${response.status}`;
      if (response.status === 401 || response.status === 403) throw new UnauthenticatedError(message);
      if (response.status >= 400 && response.status < 500) throw new ValidationError(message);
      throw new UnavailableError(`${url.pathname} answered ${message}`);
    },
    { retries: 4, initialDelayMs: 500, maxDelayMs: 5000 },
  );
}

/** Merges the provisioned values into the config file (mode 0600: it holds the credential). */
export function writeAgentConfig(path: string, r: ProvisionResult, cloudUrl: string, dataDir?: string): void {
  let existing: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      existing = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new BitvError('config_unreadable', `cannot update ${path}: ${String(error)}`);
    }
  }
  const next = {
    ...existing,
    groupId: r.groupId,
    edgeNodeId: r.edgeNodeId,
    brokerUrl: r.brokerUrl,
    primaryHostId: r.primaryHostId,
    mqttUsername: r.edgeNodeId,
    credential: r.credential,
    credentialExpiresAt: r.credentialExpiresAt,
    cloudUrl,
    ...(dataDir ? { dataDir } : {}),
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
