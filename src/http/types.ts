import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { AdminToken } from './auth.js';

/** What the HTTP API needs; built by `main.ts` (or a test) and handed to `buildApi`. */
export interface ApiDeps {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  adminTokens: AdminToken[];
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** true = no admin token needed (health, webhook, static pages). Everything else needs it. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Name of the admin token that authenticated this request (for the audit log). */
    actor?: string;
  }
}
