/**
 * General helpers with no domain knowledge, shared by every capability (engine, bot, clients):
 * group commit, semaphore, sleep, wake-up signal. Nothing here imports from the rest of `src/`.
 */
export { createBatcher, type ItemResult } from './batch.js';
export { fromCsvCell, toCsvCell, toCsvLine } from './csv-cell.js';
export { type DownloadOptions, downloadLimited, FileTooLargeError } from './download.js';
export { writeFolderTarGz } from './folder-tar.js';
export { Semaphore } from './semaphore.js';
export { sleep } from './sleep.js';
export { Wakeup } from './wakeup.js';
