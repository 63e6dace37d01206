import { BitvError } from '@bitv/shared';

/**
 * [RFC 9110 13.1.1] `If-Match` names a version that is no longer current: 412. The body says which
 * version is current, so a client can re-read and retry.
 */
export class StaleVersionError extends BitvError {
  constructor(sku: string, given: number, current: number) {
    super(
      'precondition_failed',
      `product ${sku} is at version ${current}, not ${given}: someone changed it since you read it; fetch it again and reapply your change`,
      { details: { sku, given, current } },
    );
  }
}

/** [RFC 6585 3] an update without `If-Match` would silently overwrite someone else's change: 428. */
export class VersionRequiredError extends BitvError {
  constructor() {
    super(
      'precondition_required',
      'send If-Match with the ETag you read (GET the product first): updates without it could overwrite a change you have not seen',
    );
  }
}

export const preconditionStatus = { precondition_failed: 412, precondition_required: 428 } as const;
