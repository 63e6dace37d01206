export { type RestPayOptions, type RunningRestPay, restPayDeclineCodes, startRestPay } from './server.js';
