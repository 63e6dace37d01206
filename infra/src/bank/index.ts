export { type BankOptions, bankPath, bankWsdl, type RunningBank, startBank } from './server.js';
