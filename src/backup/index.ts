export { backupFormatOf, writeBackupFile } from './dump.js';
export { type BackupFormat, backupFileName, detectBackupFormat, pruneBackups } from './files.js';
export {
  type BackupStatus,
  backupStatus,
  claimBackupSlot,
  finishBackup,
  recordManualBackup,
} from './records.js';
export { RestoreRefusedError, type RestoreResult, restoreBackup, tablesWithData } from './restore.js';
export {
  type BackupRunReport,
  type BackupScheduler,
  createBackupScheduler,
} from './schedule.js';
