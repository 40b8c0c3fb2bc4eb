export {
  createScheduler,
  type JobOutcome,
  type JobRunReport,
  type ScheduledJob,
  type Scheduler,
  type SchedulerDeps,
} from './scheduler.js';
