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
