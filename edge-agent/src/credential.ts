import type { Logger } from '@bitv/shared/log';
import type { EdgeAgentHandle } from './agent.js';
import type { EdgeConfig } from './config.js';
import { rotateCredential } from './provision.js';

/** Rotate this long before the credential expires. */
const rotateBeforeMs = 3_600_000;
const checkEveryMs = 600_000;

/**
 * Rotates the gateway credential through the cloud before it expires, persists it in the config
 * file and hands it to the running agent (used from the next MQTT session on). Needs `cloudUrl`,
 * `credential` and `credentialExpiresAt`; otherwise does nothing.
 */
export function startCredentialRotation(
  config: EdgeConfig,
  configFile: string | undefined,
  agent: EdgeAgentHandle,
  logger: Logger,
): { stop(): void } {
  const { cloudUrl, credentialExpiresAt } = config;
  let credential = config.credential;
  let expiresAt = credentialExpiresAt ? Date.parse(credentialExpiresAt) : Number.NaN;
  if (!cloudUrl || !credential || !Number.isFinite(expiresAt)) return { stop() {} };
  let busy = false;
  const check = async () => {
    if (busy || expiresAt - Date.now() > rotateBeforeMs || !credential) return;
    busy = true;
    try {
      const r = await rotateCredential({
        cloudUrl,
        gatewayId: config.edgeNodeId,
        credential,
        ...(configFile ? { configFile } : {}),
      });
      credential = r.credential;
      expiresAt = Date.parse(r.credentialExpiresAt);
      agent.setCredential(r.credential);
      logger.info({ expiresAt: r.credentialExpiresAt }, 'credential rotated');
    } catch (error) {
      logger.warn({ err: String(error) }, 'credential rotation failed; will retry');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void check(), checkEveryMs);
  timer.unref();
  void check();
  return { stop: () => clearInterval(timer) };
}
