import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  backupFileName,
  backupFormatOf,
  backupStatus,
  recordManualBackup,
  writeBackupFile,
} from '../../backup/index.js';
import { runDiagnosis } from '../../diagnosis/index.js';
import { AppError } from '../../errors/index.js';
import type { ApiDeps } from '../types.js';

const backupStatusSchema = z.object({
  ultimo: z
    .object({
      fecha: z.string(),
      estado: z.enum(['en_curso', 'correcto', 'fallido']),
      origen: z.enum(['programado', 'manual']),
      archivo: z.string().nullable(),
      bytes: z.number().nullable(),
      error: z.string().nullable(),
    })
    .nullable(),
  ultimo_correcto: z
    .object({ fecha: z.string(), archivo: z.string().nullable(), bytes: z.number().nullable() })
    .nullable(),
  alerta: z.enum(['ninguno', 'fallido', 'antiguo']).nullable(),
  mensaje: z.string(),
  programado: z.object({ hora: z.string(), carpeta: z.string(), conservar: z.number() }).nullable(),
});

/** Operations (issue 15): backup download and status. Admin only, like every /api route. */
export const operationsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/respaldo',
    {
      schema: {
        tags: ['operación'],
        summary:
          'Descarga un respaldo completo y consistente (base embebida: copia de su carpeta; PostgreSQL: ' +
          'pg_dump). Se restaura con "npx teltec restaurar archivo".',
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const started = deps.clock.now();
      const name = backupFileName(backupFormatOf(deps.db), started);
      const dir = await mkdtemp(path.join(tmpdir(), 'teltec-respaldo-'));
      const file = path.join(dir, name);
      let bytes: number;
      try {
        ({ bytes } = await writeBackupFile(deps.db, { databaseUrl: deps.config.databaseUrl }, file));
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        request.log.error({ err }, 'no se pudo crear el respaldo pedido por la API');
        await recordManualBackup(deps.db, {
          status: 'failed',
          error: (err as Error).message,
          startedAt: started,
          finishedAt: deps.clock.now(),
        }).catch(() => {});
        throw new AppError('RESPALDO_FALLIDO');
      }
      await recordManualBackup(deps.db, {
        status: 'ok',
        file: `descarga: ${name}`,
        bytes,
        startedAt: started,
        finishedAt: deps.clock.now(),
      });
      const stream = createReadStream(file);
      stream.once('close', () => void rm(dir, { recursive: true, force: true }));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', bytes)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(stream);
    },
  );

  app.get(
    '/api/respaldo/estado',
    {
      schema: {
        tags: ['operación'],
        summary:
          'Último respaldo (programado o manual) y si requiere atención: fallido, o el último correcto ' +
          'tiene más de 36 horas',
        response: { 200: backupStatusSchema },
      },
    },
    async () => {
      const b = deps.config.backup;
      return {
        ...(await backupStatus(deps.db, deps.clock.now())),
        programado: b.dailyAt ? { hora: b.dailyAt, carpeta: b.dir, conservar: b.keep } : null,
      };
    },
  );

  app.get(
    '/api/diagnostico',
    {
      schema: {
        tags: ['operación'],
        summary:
          'Diagnóstico: base de datos y migraciones, token y webhook de Telegram, canales, reloj, disco, ' +
          'respaldos y ventana de envío; cada comprobación con qué hacer si falla',
        response: {
          200: z.object({
            correcto: z.boolean(),
            fecha: z.string(),
            comprobaciones: z.array(
              z.object({
                id: z.string(),
                nombre: z.string(),
                estado: z.enum(['ok', 'fallo', 'no_configurado']),
                detalle: z.string(),
                accion: z.string().optional(),
              }),
            ),
          }),
        },
      },
    },
    async () => runDiagnosis({ config: deps.config, db: deps.db, clock: deps.clock }),
  );
};
