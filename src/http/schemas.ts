import { z } from 'zod';

/** Shared response schemas. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    mensaje: z.string(),
    detalles: z.unknown().optional(),
  }),
});

export const idParams = z.object({ id: z.coerce.number().int().positive() });

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
