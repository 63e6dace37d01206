export { createSoapBankProvider, type SoapBankOptions, SoapBankProvider } from './adapter.js';
