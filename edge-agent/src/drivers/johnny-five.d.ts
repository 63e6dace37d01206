// Minimal typings for the parts of johnny-five and firmata.js the Firmata driver uses (neither
// ships its own types).
declare module 'johnny-five' {
  import type { EventEmitter } from 'node:events';

  export interface BoardOptions {
    io: unknown;
    repl?: boolean;
    debug?: boolean;
    /** johnny-five exits the process on SIGINT unless this is false. */
    sigint?: boolean;
    timeout?: number;
  }
  export class Board extends EventEmitter {
    constructor(options: BoardOptions);
    readonly isReady: boolean;
  }
  export class Sensor extends EventEmitter {
    constructor(options: {
      pin: number | string;
      type?: 'analog' | 'digital';
      freq?: number;
      threshold?: number;
      board: Board;
    });
    readonly value: number;
  }
  export class Pin extends EventEmitter {
    constructor(options: { pin: number | string; type?: 'analog' | 'digital'; mode?: number; board: Board });
    high(): void;
    low(): void;
  }
  const five: { Board: typeof Board; Sensor: typeof Sensor; Pin: typeof Pin };
  export default five;
}

declare module 'firmata-io' {
  import type { EventEmitter } from 'node:events';

  class Firmata extends EventEmitter {
    constructor(transport: unknown, options?: { skipCapabilities?: boolean; reportVersionTimeout?: number });
    readonly isReady: boolean;
    readonly firmware: { name: string; version: { major: number; minor: number } };
    reset(): void;
  }
  const firmataIo: { Firmata: typeof Firmata };
  export default firmataIo;
}
