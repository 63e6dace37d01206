import { ValidationError } from '@bitv/shared';
import {
  formatIssue,
  type JsonObject,
  maxShadowDocumentBytes,
  maxShadowSectionChars,
  mergePatch,
  pruneEmpty,
  type ShadowDocument,
  shadowDocument,
} from '@bitv/shared/events';

export { diffPatch, type JsonObject } from '@bitv/shared/events';

/** Checks a whole desired document: its schema and that it fits in one command down to the agent. */
export function checkDocument(value: unknown): ShadowDocument {
  const parsed = shadowDocument.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError(`invalid shadow: ${parsed.error.issues.map(formatIssue).join('; ')}`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(parsed.data));
  if (bytes > maxShadowDocumentBytes) {
    throw new ValidationError(
      `shadow of ${bytes} bytes is larger than ${maxShadowDocumentBytes}: it must fit in one command to the gateway`,
    );
  }
  // Each section travels back up as one Sparkplug string metric, bounded like any generic metric.
  const sections = [parsed.data.gateway ?? {}, ...Object.values(parsed.data.shelves ?? {})];
  if (sections.some((x) => JSON.stringify(x).length > maxShadowSectionChars)) {
    throw new ValidationError(
      `invalid shadow: a gateway or shelf section is over ${maxShadowSectionChars} characters`,
    );
  }
  const gateway = parsed.data.gateway?.thresholds;
  for (const t of [gateway, ...Object.values(parsed.data.shelves ?? {}).map((s) => s.thresholds)]) {
    if (
      t?.temperatureMinC !== undefined &&
      t.temperatureMaxC !== undefined &&
      t.temperatureMinC > t.temperatureMaxC
    )
      throw new ValidationError('invalid shadow: temperatureMinC is above temperatureMaxC');
  }
  return parsed.data;
}

/** The desired state after a PATCH body (a merge patch) is applied to it, checked. */
export function patchedDocument(desired: ShadowDocument, patch: JsonObject): ShadowDocument {
  return checkDocument(pruneEmpty(mergePatch(desired, patch)));
}
