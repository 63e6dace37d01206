import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { counter, createRegistry, type Registry } from '@bitv/shared/metrics';
import { FaultInjector, type FaultSettings } from './faults.js';
import { defaultMaxBodyBytes } from './http.js';
import { type LedgerRequest, type LedgerResult, PaymentLedger, RequestKeyConflict } from './ledger.js';
import { Notifier, type NotifierOptions } from './notifier.js';

/** What starts either payment service (the bank, rest-pay): where it listens and how it misbehaves. */
export interface PaymentServiceOptions {
  host: string;
  port: number;
  /** SQLite file for the ledger; undefined keeps it in memory. */
  dbPath: string | undefined;
  callbackUrl: string | undefined;
  secret: string;
  seed: number;
  faults?: Partial<FaultSettings>;
  maxBodyBytes?: number;
  registry?: Registry;
  log?: Logger;
}

/** How a service's wire speaks of a refusal, a reused request key and a notification's code. */
export interface DeskWords {
  /** What is thrown for the injected "try again later" (a SOAP server fault, an HTTP 503). */
  unavailable: () => unknown;
  /** What is thrown for a request key reused with another request. */
  conflict: (message: string) => unknown;
  /** The code a notification of this result carries. */
  code: (result: LedgerResult) => string;
}

/**
 * What both payment services do behind their wire format: the ledger, the fault dice, signed
 * notifications, and one money-moving request's course (latency, an injected fault, the ledger,
 * the notification, and maybe no answer at all after the commit).
 */
export class PaymentDesk {
  readonly log: Logger;
  readonly registry: Registry;
  readonly maxBody: number;
  readonly faults: FaultInjector;
  readonly ledger: PaymentLedger;
  readonly notifier: Notifier;
  private readonly injected;
  private readonly hanging = new Set<ServerResponse>();

  constructor(
    service: string,
    options: PaymentServiceOptions,
    wire: { refPrefix: string } & Pick<NotifierOptions, 'encode' | 'sign'>,
  ) {
    this.log = options.log ?? silentLogger;
    this.registry = options.registry ?? createRegistry();
    this.maxBody = options.maxBodyBytes ?? defaultMaxBodyBytes;
    this.faults = new FaultInjector(options.seed, options.faults);
    this.ledger = new PaymentLedger({ path: options.dbPath ?? ':memory:', refPrefix: wire.refPrefix });
    this.injected = counter(
      this.registry,
      `bv_${service.replace(/-/g, '_')}_faults_injected_total`,
      'faults injected on purpose',
      ['kind'],
    );
    this.notifier = new Notifier({
      callbackUrl: options.callbackUrl,
      secret: options.secret,
      faults: this.faults,
      registry: this.registry,
      log: this.log,
      service,
      encode: wire.encode,
      sign: wire.sign,
    });
  }

  /**
   * One money-moving request. Returns its result, or undefined when the fault dice say this call
   * never answers: the money moved, and the socket is closed or held until the client gives up.
   */
  async move(
    key: string,
    request: LedgerRequest,
    res: ServerResponse,
    words: DeskWords,
  ): Promise<LedgerResult | undefined> {
    await this.faults.delay();
    if (this.faults.injectFault(request.operation)) {
      this.injected.inc({ kind: 'unavailable' });
      throw words.unavailable();
    }
    let outcome: { result: LedgerResult; replayed: boolean };
    try {
      outcome = this.ledger.execute(key, request);
    } catch (error) {
      if (error instanceof RequestKeyConflict) throw words.conflict(error.message);
      throw error;
    }
    const { result, replayed } = outcome;
    if (!replayed && result.ref) {
      this.notifier.notify({
        paymentId: result.paymentId,
        ref: result.ref,
        operation: result.operation,
        approved: result.approved,
        code: words.code(result),
        at: result.at,
      });
    }
    const silence = this.faults.timeoutAfterCommit(request.operation);
    if (!silence) return result;
    this.injected.inc({ kind: `timeout-after-commit-${silence}` });
    if (silence === 'close') res.socket?.destroy();
    else {
      // Held until the client gives up (its close frees it) or the service stops.
      this.hanging.add(res);
      res.once('close', () => this.hanging.delete(res));
    }
    return undefined;
  }

  /** Listens and returns the base URL (`http://host:port`). */
  async listen(server: Server, host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  async close(server: Server): Promise<void> {
    await this.notifier.close();
    for (const res of this.hanging) res.socket?.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.ledger.close();
  }
}
