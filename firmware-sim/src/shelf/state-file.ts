import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';

/**
 * What survives a real controller's power cycle: the goods on its bins (physics, not RAM), and what
 * its firmware keeps in EEPROM (tare, calibration, sample rate). Not the LEDs: a boot turns them
 * off, and not the replay store or sequence numbers, which live in RAM.
 */
export const shelfStateSchema = z.object({
  version: z.literal(1),
  serialNumber: z.string().min(1).max(32),
  sampleRateMilliHz: z.number().int().min(100).max(100_000),
  bins: z
    .array(
      z.object({
        count: z.number().int().min(0).max(10_000_000),
        tareCounts: z.number().finite(),
        gramsPerCount: z.number().finite().positive(),
      }),
    )
    .min(1)
    .max(128),
});

export type ShelfState = z.infer<typeof shelfStateSchema>;

export type LoadedState =
  | { kind: 'missing' }
  | { kind: 'loaded'; state: ShelfState }
  | { kind: 'invalid'; problem: string };

/**
 * One shelf's state file. Reads are validated (a damaged file is reported, never trusted); writes
 * go to a temporary file that is flushed and renamed over the old one, so a crash mid-write leaves
 * either the old or the new state, never half of one.
 */
export class ShelfStateFile {
  private lastWritten: string | undefined;

  constructor(readonly path: string) {}

  load(): LoadedState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'invalid', problem: (error as Error).message };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: 'invalid', problem: 'not JSON' };
    }
    const parsed = shelfStateSchema.safeParse(json);
    if (!parsed.success)
      return {
        kind: 'invalid',
        problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      };
    this.lastWritten = `${JSON.stringify(parsed.data)}\n`;
    return { kind: 'loaded', state: parsed.data };
  }

  /** Writes the state unless it is what the file already holds; returns whether it wrote. */
  save(state: ShelfState): boolean {
    const text = `${JSON.stringify(state)}\n`;
    if (text === this.lastWritten) return false;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.lastWritten = text;
    return true;
  }

  /** Moves a damaged file aside (`<file>.corrupt`) so the fresh state does not overwrite the evidence. */
  setAside(): string {
    const aside = `${this.path}.corrupt`;
    renameSync(this.path, aside);
    return aside;
  }
}
