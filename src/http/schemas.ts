import { z } from 'zod';

/** Shared response schemas. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    mensaje: z.string(),
    detalles: z.unknown().optional(),
  }),
});

/** Largest id a database `integer` column holds; larger ids are refused before any query. */
export const MAX_ID = 2_147_483_647;
/** A row id in a path or query parameter. */
export const idSchema = z.coerce
  .number()
  .int('debe ser un número entero')
  .positive('debe ser mayor que 0')
  .max(MAX_ID, `debe ser menor o igual que ${MAX_ID}`);
export const idParams = z.object({ id: idSchema });

/** Standard error answers for the OpenAPI document. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
  422: errorSchema,
} as const;

/** Telegram chat ids: the seed sends them as strings ("123456789"); numbers are accepted too. */
export const chatIdSchema = z
  .union([
    z
      .string()
      .trim()
      .regex(/^-?\d{1,15}$/, 'debe ser un número de chat de Telegram'),
    z.number().int(),
  ])
  .transform((v) => Number(v));
