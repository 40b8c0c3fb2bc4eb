import type { BillingContext } from '../clients/index.js';
import { localDate } from '../time.js';
import type { ApiDeps } from './types.js';

/** "Today" in the provider's zone and the cycle settings, for payment states. */
export function billingContext(deps: Pick<ApiDeps, 'clock' | 'config'>): () => BillingContext {
  return () => ({
    today: localDate(deps.clock.now(), deps.config.timeZone),
    cycleDays: deps.config.engine.cycleDays,
    reminderDaysBefore: deps.config.engine.reminderDaysBefore,
  });
}
