import { ConflictError, NotFoundError } from '@bitv/shared';
import type { EventLog } from '@bitv/shared/event-log';
import {
  createEvent,
  type ShadowCommand,
  type ShadowDocument,
  shadowDesiredChangedV1,
  shadowReportedV1,
} from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { Counter } from '@bitv/shared/metrics';
import { iso } from '../db/time.js';
import { diffPatch, type JsonObject, patchedDocument } from './document.js';
import type { ReportedShadow } from './reported.js';
import type { ShadowDb } from './tables.js';

/** A gateway's shadow as the API and the gateway page show it. */
export interface Shadow {
  gatewayId: string;
  siteId: string;
  version: number;
  desired: ShadowDocument;
  desiredAt: string | null;
  changedBy: string | null;
  reportedVersion: number;
  reported: ShadowDocument;
  reportedAt: string | null;
  /** What the gateway has still to apply (a merge patch from reported to desired). */
  delta: JsonObject;
  inSync: boolean;
}

/** What the shadows need of the registry and the commands (given at composition). */
export interface ShadowPorts {
  /** The gateway's site, or undefined when the registry does not know it. */
  siteOf(gatewayId: string): Promise<string | undefined>;
  /** Sends a node command down the command path (stored and tracked like any other). */
  send(gatewayId: string, command: ShadowCommand, requestedBy: string): Promise<{ id: string }>;
  /** Tells the dashboard (the live hub) a shadow changed. */
  announce?(shadow: Shadow): void;
}

export interface ShadowOptions {
  /** A gateway behind its desired version gets the delta again after this long (a reborn one at once). */
  resendAfterMs: number;
}

export const shadowDefaults: ShadowOptions = { resendAfterMs: 60_000 };

const source = 'bitvelocity/cloud/shadows';

/**
 * Device shadows: the desired state an operator sets per gateway and per shelf, the state the
 * gateway reports it applied, and the delta between them, each versioned. A change is sent down as
 * a merge patch against what the gateway last reported; a gateway that comes back (NBIRTH carries
 * its shadow version) or stays behind gets the delta again, so a change made while it was offline
 * is applied when it returns.
 */
export class Shadows {
  private readonly options: ShadowOptions;

  constructor(
    private readonly db: ShadowDb,
    private readonly ports: ShadowPorts,
    private readonly eventLog: EventLog,
    private readonly logger: Logger,
    private readonly sent: Counter<'why'>,
    options: Partial<ShadowOptions> = {},
  ) {
    this.options = { ...shadowDefaults, ...options };
  }

  async get(gatewayId: string): Promise<Shadow> {
    const row = await this.db
      .selectFrom('shadows')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .executeTakeFirst();
    if (row) return toShadow(row);
    const siteId = await this.ports.siteOf(gatewayId);
    if (siteId === undefined) throw new NotFoundError(`gateway ${gatewayId} not found`);
    return toShadow({
      gateway_id: gatewayId,
      site_id: siteId,
      desired: {},
      version: 0,
      desired_at: null,
      changed_by: null,
      reported: null,
      reported_version: 0,
      reported_at: null,
    });
  }

  /**
   * Applies a merge patch to the desired state; `ifMatch` (the version the caller read) makes it
   * fail with a conflict when someone else changed the shadow since. Sends the delta down at once.
   */
  async patchDesired(gatewayId: string, patch: JsonObject, by: string, ifMatch?: number): Promise<Shadow> {
    const current = await this.get(gatewayId);
    if (ifMatch !== undefined && ifMatch !== current.version) {
      throw new ConflictError(
        `shadow of ${gatewayId} is at version ${current.version}, not ${ifMatch}: read it again and retry`,
        { details: { version: current.version } },
      );
    }
    const desired = patchedDocument(current.desired, patch);
    const version = current.version + 1;
    const now = new Date();
    // Optimistic: the row moves from the version read to the next one, or the write loses.
    const written =
      current.version === 0
        ? await this.db
            .insertInto('shadows')
            .values({
              gateway_id: gatewayId,
              site_id: current.siteId,
              desired: JSON.stringify(desired),
              version,
              desired_at: now,
              changed_by: by,
            })
            .onConflict((oc) => oc.column('gateway_id').doNothing())
            .returningAll()
            .executeTakeFirst()
        : await this.db
            .updateTable('shadows')
            .set({ desired: JSON.stringify(desired), version, desired_at: now, changed_by: by })
            .where('gateway_id', '=', gatewayId)
            .where('version', '=', current.version)
            .returningAll()
            .executeTakeFirst();
    if (!written) {
      throw new ConflictError(`shadow of ${gatewayId} changed while it was being written: retry`);
    }
    await this.eventLog.publish(
      shadowDesiredChangedV1.topic,
      createEvent(shadowDesiredChangedV1, {
        source,
        key: gatewayId,
        data: { siteId: current.siteId, gatewayId, version, desired, changedBy: by.slice(0, 200) },
      }),
    );
    const shadow = toShadow(written);
    this.ports.announce?.(shadow);
    await this.push(shadow, 'changed');
    return shadow;
  }

  /**
   * A gateway reported its shadow (its NBIRTH or an NDATA after applying). Stored when it is news;
   * the delta goes down again when the gateway is behind and was just reborn or waited long enough.
   */
  async applyReported(report: ReportedShadow): Promise<void> {
    const row = await this.db
      .selectFrom('shadows')
      .selectAll()
      .where('gateway_id', '=', report.gatewayId)
      .executeTakeFirst();
    if (!row) {
      // Nothing desired yet: nothing to reconcile, and nothing to store until an operator sets one.
      return;
    }
    if (row.site_id !== report.siteId) {
      this.logger.warn(
        { gatewayId: report.gatewayId, groupId: report.siteId },
        'shadow report from the wrong group dropped',
      );
      return;
    }
    const changed =
      row.reported_version !== report.version ||
      JSON.stringify(row.reported) !== JSON.stringify(report.reported);
    let current = row;
    if (changed) {
      const updated = await this.db
        .updateTable('shadows')
        .set({
          reported: JSON.stringify(report.reported),
          reported_version: report.version,
          reported_at: report.time,
        })
        .where('gateway_id', '=', report.gatewayId)
        .returningAll()
        .executeTakeFirst();
      if (updated) current = updated;
    }
    const shadow = toShadow(current);
    if (changed) {
      this.ports.announce?.(shadow);
      await this.eventLog.publish(
        shadowReportedV1.topic,
        createEvent(shadowReportedV1, {
          source,
          key: shadow.gatewayId,
          data: {
            siteId: shadow.siteId,
            gatewayId: shadow.gatewayId,
            version: shadow.reportedVersion,
            reported: shadow.reported,
            inSync: shadow.inSync,
          },
        }),
      );
    }
    if (shadow.reportedVersion >= shadow.version) return;
    const sentAt = current.sent_at ? new Date(current.sent_at).getTime() : 0;
    const due =
      report.birth ||
      current.sent_version < shadow.version ||
      Date.now() - sentAt >= this.options.resendAfterMs;
    if (due) await this.push(shadow, report.birth ? 'reborn' : 'behind');
  }

  /** Sends the delta of a shadow whose gateway is behind (a gateway away gets it on its return). */
  private async push(shadow: Shadow, why: 'changed' | 'reborn' | 'behind'): Promise<void> {
    if (shadow.reportedVersion >= shadow.version) return;
    const command: ShadowCommand = {
      action: 'shadow',
      version: shadow.version,
      baseVersion: shadow.reportedVersion,
      delta: shadow.delta,
    };
    try {
      await this.ports.send(shadow.gatewayId, command, 'shadows');
    } catch (error) {
      // The shadow is stored; the gateway's next birth or report sends it again.
      this.logger.warn({ err: String(error), gatewayId: shadow.gatewayId }, 'shadow delta not sent');
      return;
    }
    await this.db
      .updateTable('shadows')
      .set({ sent_version: shadow.version, sent_at: new Date() })
      .where('gateway_id', '=', shadow.gatewayId)
      .execute();
    this.sent.inc({ why });
    this.logger.info(
      { gatewayId: shadow.gatewayId, version: shadow.version, baseVersion: shadow.reportedVersion, why },
      'shadow delta sent',
    );
  }
}

interface ShadowRow {
  gateway_id: string;
  site_id: string;
  desired: unknown;
  version: number;
  desired_at: Date | string | null;
  changed_by: string | null;
  reported: unknown;
  reported_version: number;
  reported_at: Date | string | null;
}

function toShadow(r: ShadowRow): Shadow {
  const desired = (r.desired ?? {}) as ShadowDocument;
  const reported = (r.reported ?? {}) as ShadowDocument;
  const delta = diffPatch(reported, desired);
  return {
    gatewayId: r.gateway_id,
    siteId: r.site_id,
    version: r.version,
    desired,
    desiredAt: r.desired_at ? iso(r.desired_at) : null,
    changedBy: r.changed_by,
    reportedVersion: r.reported_version,
    reported,
    reportedAt: r.reported_at ? iso(r.reported_at) : null,
    delta,
    inSync: r.reported_version >= r.version && Object.keys(delta).length === 0,
  };
}
