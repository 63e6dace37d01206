import type { PaymentState } from './model.js';
import type { AuthorizeInput } from './service.js';

/** What the payments module offers other modules (checkout authorizes and voids through it). */
export interface PaymentsApi {
  /** Authorizes once per payment id (a repeat answers the payment as it is). */
  authorize(input: AuthorizeInput): Promise<PaymentState>;
  /** Releases an uncaptured authorization (nothing to void: answered as it is). */
  void(paymentId: string): Promise<PaymentState>;
}

declare module '../module.js' {
  interface ModuleApis {
    payments: PaymentsApi;
  }
}
