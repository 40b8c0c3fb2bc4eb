export {
  downloadLimited,
  FileTooLargeError,
  RECEIPT_MAX_BYTES,
  type ReceiptMime,
  readReceiptFile,
  receiptTypes,
  removeClientReceiptFiles,
  sha256Hex,
  sniffReceiptType,
  storeReceiptFile,
} from './files.js';
export { type ReceiptIntake, takeReceipt } from './intake.js';
export { currentPause, endPauses, openPause, type PauseReason } from './pauses.js';
export {
  keepPaidPromises,
  makePromise,
  type PromiseResult,
  type PromiseSettlement,
  promiseDates,
  promisesOn,
  settlePromises,
} from './promises.js';
export {
  type ApproveInput,
  approveReceipt,
  countPendingReceipts,
  getReceipt,
  getReceiptDetail,
  listReceipts,
  type NewReceiptResult,
  openPauses,
  type ReceiptState,
  type ReceiptView,
  type ReviewContext,
  recordReceipt,
  rejectionText,
  rejectReceipt,
} from './store.js';
