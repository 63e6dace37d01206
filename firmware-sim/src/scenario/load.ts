import { readFile } from 'node:fs/promises';
import { ValidationError } from '@bitv/shared';
import { parse as parseYaml } from 'yaml';
import { type Scenario, scenarioSchema } from './schema.js';

/** Validates a scenario object (from a file or from code). */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`${source} is invalid:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return result.data;
}

/** Reads a scenario file: `.json` as JSON, anything else as YAML (a superset of JSON). */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError(
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  return parseScenario(data, path);
}
