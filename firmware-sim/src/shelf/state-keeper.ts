import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@bitv/shared';
import type { SimulatedShelf } from './simulated-shelf.js';
import { ShelfStateFile } from './state-file.js';

/**
 * Keeps every simulated shelf's power-cycle state in `<dir>/<serialNumber>.json`, so a restarted
 * simulator finds the goods where the last run left them (a pick stays picked) and the firmware
 * settings it had. Saved right after a change, every `intervalMs` as a safety net, and at close;
 * a write failure is logged and retried on the next change, never thrown.
 */
export class ShelfStateKeeper {
  private readonly files = new Map<SimulatedShelf, ShelfStateFile>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly intervalMs = 5_000,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Gives the shelf its saved state (call before it boots). A damaged file is reported, moved
   * aside, and the shelf starts fresh; so does a file of another layout (bin count changed).
   */
  attach(shelf: SimulatedShelf): void {
    const file = new ShelfStateFile(join(this.dir, `${shelf.serialNumber}.json`));
    this.files.set(shelf, file);
    shelf.onPersistentChange = () => this.schedule();
    const loaded = file.load();
    const log = { shelf: shelf.serialNumber, file: file.path };
    if (loaded.kind === 'invalid') {
      let aside: string | undefined;
      try {
        aside = file.setAside();
      } catch (error) {
        this.logger.warn({ ...log, err: error }, 'could not move the damaged shelf state file aside');
      }
      this.logger.warn(
        { ...log, problem: loaded.problem, aside },
        'shelf state file damaged; the shelf starts fresh',
      );
      return;
    }
    if (loaded.kind === 'missing') return;
    const s = loaded.state;
    if (s.serialNumber !== shelf.serialNumber || s.bins.length !== shelf.bins) {
      this.logger.warn(
        { ...log, savedBins: s.bins.length, bins: shelf.bins, savedSerial: s.serialNumber },
        'shelf state file is of another shelf layout; the shelf starts fresh',
      );
      return;
    }
    shelf.restore(s);
    this.logger.info(log, 'shelf state restored');
  }

  start(): void {
    this.timer = setInterval(() => this.saveAll(), this.intervalMs);
    this.timer.unref();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    // One write for the changes of one turn (a timeline step may pick from every shelf).
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.saveAll();
    });
  }

  saveAll(): void {
    for (const [shelf, file] of this.files) {
      try {
        file.save(shelf.persistentState());
      } catch (error) {
        this.logger.warn({ shelf: shelf.serialNumber, file: file.path, err: error }, 'shelf state not saved');
      }
    }
  }

  /** Saves a last time and stops. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.saveAll();
    this.closed = true;
  }
}
