import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import { logLevels } from './defaults.js';

export * from './defaults.js';
export * from './redact.js';

/**
 * One setting read from one environment variable. The default is written as the variable's
 * text so that `--help` can print exactly what an operator would type.
 */
export interface Setting<T> {
  env: string;
  schema: z.ZodType<T>;
  default: string | undefined;
  description: string;
  secret: boolean;
}

export type ConfigSpec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

interface SettingOptions {
  default?: string;
  description: string;
  secret?: boolean;
}

function make<T>(env: string, schema: z.ZodType<T>, options: SettingOptions): Setting<T> {
  return {
    env,
    schema,
    default: options.default,
    description: options.description,
    secret: options.secret ?? false,
  };
}

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** Builders for settings; each takes the variable name and a description with an optional default. */
export const setting = {
  string: (env: string, o: SettingOptions) => make(env, z.string().min(1), o),
  optionalString: (env: string, o: SettingOptions) => make(env, z.string().min(1).optional(), o),
  int: (env: string, o: SettingOptions & { min?: number; max?: number }) =>
    make(
      env,
      z.coerce
        .number()
        .int()
        .min(o.min ?? Number.MIN_SAFE_INTEGER)
        .max(o.max ?? Number.MAX_SAFE_INTEGER),
      o,
    ),
  number: (env: string, o: SettingOptions) => make(env, z.coerce.number(), o),
  boolean: (env: string, o: SettingOptions) => make(env, booleanText, o),
  url: (env: string, o: SettingOptions) => make(env, z.string().url(), o),
  optionalUrl: (env: string, o: SettingOptions) => make(env, z.string().url().optional(), o),
  enum: <const V extends readonly [string, ...string[]]>(env: string, values: V, o: SettingOptions) =>
    make(env, z.enum(values), o),
  list: (env: string, o: SettingOptions) =>
    make(
      env,
      z.string().transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      ),
      o,
    ),
  /** The log level, from BV_LOG_LEVEL in every process (one name for one thing). */
  logLevel: (o: SettingOptions = { default: 'info', description: 'Log level' }) =>
    make('BV_LOG_LEVEL', z.enum(logLevels), o),
  optionalList: (env: string, o: SettingOptions) =>
    make(
      env,
      z
        .string()
        .transform((s) =>
          s
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean),
        )
        .optional(),
      o,
    ),
};

/**
 * Reads a whole spec from `source` (pass `process.env` where the process starts; library code
 * receives the typed result and never reads the environment itself). Every problem is reported
 * at once, on one line, so an operator fixes the configuration in one go (a CLI prints the message
 * and exits with status 2).
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  source: Record<string, string | undefined>,
): ConfigOf<S> {
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(spec)) {
    const raw = source[s.env];
    const text = raw === undefined || raw === '' ? s.default : raw;
    const parsed = s.schema.safeParse(text);
    if (parsed.success) result[key] = parsed.data;
    else {
      const shown = s.secret ? '(hidden)' : JSON.stringify(text);
      problems.push(`${s.env}=${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length > 0) {
    throw new ValidationError(`invalid configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return result as ConfigOf<S>;
}

/** The settings as a text table for `--help`. */
export function describeConfig(spec: ConfigSpec): string {
  const rows = Object.values(spec).map((s) => {
    const def = s.default === undefined ? '(unset)' : s.default;
    return `  ${s.env.padEnd(30)} ${s.description} [default: ${def}]`;
  });
  return `Environment:\n${rows.join('\n')}`;
}
