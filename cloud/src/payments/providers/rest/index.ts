export { type RestPayOptions, RestPayProvider } from './adapter.js';
