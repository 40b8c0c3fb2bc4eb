import { z } from 'zod';
import { isIsoDate } from '../time.js';
import { channelNames, clientStates, paymentStates } from '../vocabulary.js';
import { validateCedula } from './cedula.js';
import { normalizePhone, toWhatsApp } from './phone.js';

const emptyToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : v);
const optionalText = (max: number) =>
  z.preprocess(emptyToNull, z.string().trim().max(max, `máximo ${max} caracteres`).nullable().optional());

export const cedulaSchema = z.string().transform((value, ctx) => {
  const r = validateCedula(value);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.mensaje, params: { problema: r.problema } });
    return z.NEVER;
  }
  return r.cedula;
});

export const isoDateSchema = z
  .string()
  .refine(isIsoDate, 'debe ser una fecha AAAA-MM-DD válida, por ejemplo 2026-11-05');

export const estadoSchema = z.enum(clientStates.values);
export const estadoPagoSchema = z.enum(paymentStates.values);

const phoneSchema = z.preprocess(
  emptyToNull,
  z
    .string()
    .trim()
    .refine(
      (v) => normalizePhone(v) !== null,
      'debe ser un teléfono de Ecuador, por ejemplo 0987654321 o +593 98 765 4321',
    )
    .nullable()
    .optional(),
);

/** A WhatsApp number: any way people write an Ecuadorian mobile, stored as 5939XXXXXXXX. */
const whatsappSchema = z.preprocess(
  emptyToNull,
  z
    .string()
    .trim()
    .refine(
      (v) => toWhatsApp(v) !== null,
      'debe ser un celular de Ecuador (WhatsApp no funciona con un fijo), por ejemplo 0987654321',
    )
    .transform((v) => toWhatsApp(v)!)
    .nullable()
    .optional(),
);

/** Client fields as the API and the CSV accept them (Spanish names from the seed). */
export const clientFields = {
  cedula: cedulaSchema,
  nombre: z.string().trim().min(2, 'escriba el nombre completo').max(200),
  telefono: phoneSchema,
  /** Empty on creation = the telefono when it is a mobile. */
  whatsapp: whatsappSchema,
  /** null = automatic: Telegram when linked, else WhatsApp when consented (issue 10 §8). */
  canal_preferido: z.preprocess(
    emptyToNull,
    z.enum(channelNames.values, 'debe ser telegram, whatsapp, sms o email').nullable().optional(),
  ),
  email: z.preprocess(emptyToNull, z.email('debe ser un correo válido').nullable().optional()),
  direccion: optionalText(300),
  sector: optionalText(100),
  plan_id: z.preprocess(emptyToNull, z.coerce.number().int().positive().nullable().optional()),
  plan: optionalText(100),
  estado: z.preprocess(emptyToNull, estadoSchema.optional()),
  fecha_ultimo_pago: z.preprocess(emptyToNull, isoDateSchema.nullable().optional()),
  dia_pago: z.preprocess(
    emptyToNull,
    z.coerce
      .number()
      .int()
      .min(1, 'el día de pago va de 1 a 28')
      .max(28, 'el día de pago va de 1 a 28')
      .nullable()
      .optional(),
  ),
};

export const createClientBody = z.object(clientFields);
export const patchClientBody = z
  .object(clientFields)
  .partial()
  .refine((o) => Object.keys(o).length > 0, 'envíe al menos un campo para cambiar');

export type CreateClientBody = z.infer<typeof createClientBody>;
