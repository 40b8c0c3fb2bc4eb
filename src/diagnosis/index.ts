export {
  type CheckResult,
  type CheckState,
  type Diagnosis,
  type DiagnosisDeps,
  formatDiagnosis,
  runDiagnosis,
} from './checks.js';
