export { type CedulaResult, compactCedula, isValidCedula, validateCedula } from './cedula.js';
export {
  type ConsentCategory,
  type ConsentRow,
  type ConsentSource,
  consentHistory,
  currentConsents,
  hasConsent,
  type NewConsent,
  recordConsent,
  recordConsents,
} from './consents.js';
export {
  clientsCsv,
  csvColumns,
  decodeCsv,
  exportColumns,
  type ImportRecord,
  type ImportReport,
  type ImportStateChange,
  importClientsCsv,
  listImports,
  normalizeHeader,
} from './csv.js';
export { listPayments, type Payment, recordPayment, UNUSUAL_AMOUNT_FACTOR, voidPayment } from './payments.js';
export { normalizePhone, samePhone, toWhatsApp } from './phone.js';
export { createPlansRepository, type Plan } from './plans.js';
export {
  type BillingContext,
  type ClientsRepository,
  type ClientView,
  createClientsRepository,
  type PaymentState,
} from './repository.js';
export {
  createClientBody,
  estadoPagoSchema,
  estadoSchema,
  isoDateSchema,
  patchClientBody,
} from './schemas.js';
