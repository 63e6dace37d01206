import { type ChildProcess, spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';

export { freePort } from '@bitv/shared/testing';

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Our own Mosquitto on a free port, so a test can stop and restart it (never the machine's 1883). */
export class TestBroker {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('mosquitto', ['-p', String(this.port)], { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 200; i++) {
      if (await answers(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`mosquitto did not start on ${this.port}`);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    await this.exited;
    this.child = undefined;
  }
}
