import { readFileSync } from 'node:fs';
import {
  type ConfigOf,
  defaultBrokerUrl,
  defaultHost,
  defaultPorts,
  loadConfig,
  type Setting,
  setting,
} from '@bitv/shared/config';
import { ValidationError } from '@bitv/shared/errors';
import { z } from 'zod';

/**
 * Every setting of the edge agent. A JSON config file (`bitv-edge run --config <file>`) gives
 * values by these keys (camelCase); environment variables override the file.
 */
export const edgeConfigSpec = {
  groupId: setting.string('BV_GROUP_ID', {
    default: 'demo-site',
    description: 'Sparkplug group id (the site id)',
  }),
  edgeNodeId: setting.string('BV_EDGE_NODE_ID', {
    default: 'gw-demo-1',
    description: 'Sparkplug edge node id (the gateway id)',
  }),
  primaryHostId: setting.string('BV_PRIMARY_HOST_ID', {
    default: 'bv-cloud',
    description: 'Sparkplug primary host whose STATE gates publishing',
  }),
  waitForHost: setting.boolean('BV_EDGE_WAIT_FOR_HOST', {
    default: 'true',
    description: 'Publish only while the primary host is online (Sparkplug STATE)',
  }),
  brokerUrl: setting.url('BV_MQTT_URL', {
    default: defaultBrokerUrl,
    description: 'MQTT broker (the BitVelocity gateway, its BV_GATEWAY_MQTT_PORT), mqtt:// or mqtts://',
  }),
  mqttCaFile: setting.optionalString('BV_MQTT_CA_FILE', {
    description: 'PEM file of the CA that signed the broker certificate (mqtts://), unset: system CAs',
  }),
  mqttUsername: setting.optionalString('BV_MQTT_USERNAME', {
    description: 'MQTT username (defaults to the edge node id when a credential is set)',
  }),
  credential: setting.optionalString('BV_EDGE_CREDENTIAL', {
    description: 'Device credential (JWT) sent as the MQTT password',
    secret: true,
  }),
  credentialExpiresAt: setting.optionalString('BV_EDGE_CREDENTIAL_EXPIRES_AT', {
    description: 'When the credential expires (ISO 8601), for rotation',
  }),
  cloudUrl: setting.optionalUrl('BV_CLOUD_URL', {
    description: 'Cloud API base URL (provisioning, rotation)',
  }),
  dataDir: setting.string('BV_EDGE_DATA_DIR', {
    default: './data/edge',
    description: 'Folder for the outbox (outbox.db)',
  }),
  durability: setting.enum('BV_EDGE_DURABILITY', ['normal', 'full'] as const, {
    default: 'normal',
    description: 'normal: survives process crashes; full: also power loss (fsync per batch)',
  }),
  outboxMaxRows: setting.int('BV_EDGE_OUTBOX_MAX_ROWS', {
    default: '5000000',
    min: 1,
    description: 'Most readings held',
  }),
  outboxMaxBytes: setting.int('BV_EDGE_OUTBOX_MAX_BYTES', {
    default: '1073741824',
    min: 1,
    description: 'Most bytes held (approximate)',
  }),
  outboxMaxAgeMs: setting.int('BV_EDGE_OUTBOX_MAX_AGE_MS', {
    default: '604800000',
    min: 1,
    description: 'Readings older than this are dropped',
  }),
  outboxPolicy: setting.enum('BV_EDGE_OUTBOX_POLICY', ['drop-oldest', 'reject-new'] as const, {
    default: 'drop-oldest',
    description: 'What to do when the outbox is full',
  }),
  serialPorts: portList('BV_EDGE_SERIAL_PORTS', {
    default: '',
    description:
      'Shelf controller ports: a comma list or a JSON array (/dev/ttyUSB0, pty paths, tcp://host:port)',
  }),
  baudRate: setting.int('BV_EDGE_BAUD_RATE', { default: '115200', min: 1, description: 'Serial baud rate' }),
  firmataPort: setting.optionalString('BV_EDGE_FIRMATA_PORT', {
    description: 'Serial port of a Firmata board (johnny-five), unset for none',
  }),
  firmataInputs: setting.list('BV_EDGE_FIRMATA_INPUTS', {
    default: '',
    description: 'Firmata input pins reported as metrics, e.g. 2,3,A0',
  }),
  firmataOutputs: setting.list('BV_EDGE_FIRMATA_OUTPUTS', {
    default: '',
    description: 'Firmata output pins driven by set_led commands, e.g. 13',
  }),
  firmwareStore: setting.optionalString('BV_FIRMWARE_STORE', {
    description:
      'Where signed shelf firmware is fetched from: file:///dir or s3+http(s)://KEY:SECRET@host/bucket (docs/ota.md); unset: no updates',
    secret: true,
  }),
  firmwarePublicKeys: setting.list('BV_FIRMWARE_PUBLIC_KEYS', {
    default: '',
    description: 'PEM files of the release keys firmware must be signed by (public keys only)',
  }),
  updateDir: setting.optionalString('BV_EDGE_UPDATE_DIR', {
    description:
      'Set by bitv-edge-supervisor: the agent ends its update trial there once online (docs/ota.md)',
  }),
  maxInFlight: setting.int('BV_EDGE_MAX_IN_FLIGHT', {
    default: '16',
    min: 1,
    max: 65535,
    description: 'QoS 1 messages unacknowledged at most',
  }),
  maxReadingsPerMessage: setting.int('BV_EDGE_MAX_READINGS_PER_MESSAGE', {
    default: '500',
    min: 1,
    max: 10000,
    description: 'Readings per DDATA at most',
  }),
  reconnectInitialDelayMs: setting.int('BV_EDGE_RECONNECT_INITIAL_MS', {
    default: '500',
    min: 1,
    description: 'First reconnect delay (exponential, jittered)',
  }),
  reconnectMaxDelayMs: setting.int('BV_EDGE_RECONNECT_MAX_MS', {
    default: '30000',
    min: 1,
    description: 'Longest reconnect delay',
  }),
  keepaliveSeconds: setting.int('BV_EDGE_KEEPALIVE_S', {
    default: '30',
    min: 1,
    description: 'MQTT keepalive',
  }),
  healthIntervalMs: setting.int('BV_EDGE_HEALTH_INTERVAL_MS', {
    default: '10000',
    min: 100,
    description: 'How often NDATA carries outbox health',
  }),
  maxCommandBytes: setting.int('BV_EDGE_MAX_COMMAND_BYTES', {
    default: '4096',
    min: 16,
    description: 'Largest command/json accepted',
  }),
  maxCommandPayloadBytes: setting.int('BV_EDGE_MAX_COMMAND_PAYLOAD_BYTES', {
    default: '65536',
    min: 64,
    description: 'Largest NCMD/DCMD payload decoded',
  }),
  opsHost: setting.string('BV_EDGE_OPS_HOST', {
    default: defaultHost,
    description: '/healthz and /metrics host',
  }),
  opsPort: setting.int('BV_EDGE_OPS_PORT', {
    default: String(defaultPorts.edgeOps),
    min: -1,
    max: 65535,
    description: '/healthz and /metrics port (0 = any free port, -1 = off)',
  }),
  logLevel: setting.enum(
    'BV_LOG_LEVEL',
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
    {
      default: 'info',
      description: 'Log level',
    },
  ),
};

export type EdgeConfig = ConfigOf<typeof edgeConfigSpec>;

/** Characters no port path holds; seeing one means a list was written in some other syntax. */
const notInPortName = /["'[\]{}\p{Cc}]/u;

const portName = z
  .string()
  .trim()
  .min(1, 'an empty port name')
  .refine((p) => !notInPortName.test(p), {
    message: 'a port name holds a quote, bracket or control character',
  });

/**
 * A list of port names, given the way the docs show it (a JSON array, also what a config file's
 * array becomes) or as a comma list. Anything else is refused whole: a half-parsed list would open
 * ports named `["/dev/ttyUSB0"`.
 */
function portList(env: string, o: { default: string; description: string }): Setting<string[]> {
  const schema = z.string().transform((text, ctx) => {
    const trimmed = text.trim();
    let items: unknown[];
    if (trimmed.startsWith('[')) {
      let json: unknown;
      try {
        json = JSON.parse(trimmed);
      } catch {
        // reported as a configuration error below, with the text
        json = undefined;
      }
      if (!Array.isArray(json)) {
        ctx.addIssue({ code: 'custom', message: 'not a JSON array of port names' });
        return z.NEVER;
      }
      items = json;
    } else {
      // as before: blanks between commas (a trailing comma) are not ports
      items = trimmed.split(',').filter((p) => p.trim() !== '');
    }
    const ports: string[] = [];
    for (const item of items) {
      const parsed = portName.safeParse(item);
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(item)}: ${parsed.error.issues[0]?.message}`,
        });
        return z.NEVER;
      }
      ports.push(parsed.data);
    }
    return ports;
  });
  return { env, schema, default: o.default, description: o.description, secret: false };
}

/**
 * Reads the config file (if any) and lets `env` override it. File values are given by config
 * key and validated by the same rules as the variables.
 */
export function loadEdgeConfig(
  file: string | undefined,
  env: Record<string, string | undefined>,
): EdgeConfig {
  const fromFile: Record<string, string> = {};
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ValidationError(`cannot read config file ${file}: ${String(error)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ValidationError(`config file ${file} must hold a JSON object`);
    }
    for (const [key, value] of Object.entries(json)) {
      const s = (edgeConfigSpec as Record<string, { env: string }>)[key];
      if (!s) throw new ValidationError(`config file ${file}: unknown key ${key}`);
      if (value === null || value === undefined) continue;
      fromFile[s.env] = Array.isArray(value) ? value.join(',') : String(value);
    }
  }
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const s of Object.values(edgeConfigSpec)) {
    const v = env[s.env];
    if (v !== undefined && v !== '') merged[s.env] = v;
  }
  return loadConfig(edgeConfigSpec, merged);
}

/** The config file text for a provisioned gateway (keys as in the spec). */
export function configFileText(
  values: Partial<Record<keyof EdgeConfig, string | number | boolean | string[]>>,
): string {
  return `${JSON.stringify(values, null, 2)}\n`;
}
