import { z } from 'zod';
import { ROLES } from '../users/index.js';

/** Response and field shapes shared by the staff routes (sesión, usuarios). */
export const userSchema = z.object({
  id: z.number(),
  usuario: z.string(),
  nombre: z.string(),
  rol: z.enum(ROLES),
  activo: z.boolean(),
  created_at: z.date(),
  updated_at: z.date(),
});

export const usuarioField = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9._-]{2,39}$/,
    '3 a 40 caracteres: letras minúsculas, números, punto, guion o guion bajo',
  );
