import { z } from 'zod';
import { estadoPagoSchema, estadoSchema } from '../clients/index.js';
import { channelNames } from '../vocabulary.js';

/** Response shapes more than one route module answers with (routes never import each other). */

export const clientViewSchema = z.object({
  id: z.number(),
  cedula: z.string(),
  nombre: z.string(),
  telefono: z.string().nullable(),
  /** 5939XXXXXXXX (issue 10 §7). */
  whatsapp: z.string().nullable(),
  /** null = automático: Telegram si está vinculado, si no WhatsApp con consentimiento. */
  canal_preferido: z.enum(channelNames.values).nullable(),
  /** Ventana de servicio de 24 h: hasta cuándo se le puede escribir texto libre por WhatsApp. */
  whatsapp_ventana_hasta: z.string().nullable(),
  whatsapp_inalcanzable: z.string().nullable(),
  whatsapp_inalcanzable_hasta: z.string().nullable(),
  email: z.string().nullable(),
  direccion: z.string().nullable(),
  sector: z.string().nullable(),
  plan_id: z.number().nullable(),
  plan: z.string().nullable(),
  precio: z.number().nullable(),
  estado: estadoSchema,
  fecha_ultimo_pago: z.string().nullable(),
  dia_pago: z.number().nullable(),
  fecha_vencimiento: z.string().nullable(),
  estado_pago: estadoPagoSchema,
  telegram: z.object({
    vinculado: z.boolean(),
    chat_id: z.string().nullable(),
    vinculado_en: z.string().nullable(),
    verificado: z.boolean(),
    /** 'pendiente_de_verificar': linked by cédula alone; notices carry no billing data until confirmed. */
    estado_vinculo: z.enum(['sin_vincular', 'verificado', 'pendiente_de_verificar']),
    bloqueado: z.boolean(),
    inalcanzable: z.string().nullable(),
  }),
  preferencias: z.object({ ofertas: z.boolean(), mantenimiento: z.boolean() }),
  creado_en: z.string(),
  actualizado_en: z.string(),
});

/** A recipient's text as it is sent (or why it is not): campaign preview and detail. */
export const sampleSchema = z.object({
  cliente_id: z.number(),
  nombre: z.string(),
  texto: z.string(),
  longitud: z.number(),
  motivo: z.string().nullable(),
});

export const campaignSchema = z.object({
  id: z.number(),
  nombre: z.string(),
  tipo: z.string(),
  mensaje: z.string().nullable(),
  plantilla: z.string().nullable(),
  filtros: z.record(z.string(), z.unknown()),
  urgente: z.boolean(),
  estado: z.enum(['en_curso', 'completada', 'cancelada']),
  total: z.number(),
  progreso: z.object({
    pendientes: z.number(),
    enviadas: z.number(),
    fallidas: z.number(),
    canceladas: z.number(),
  }),
  excluidos: z.record(z.string(), z.number()),
  creado_por: z.string().nullable(),
  creado_en: z.string(),
  cancelado_en: z.string().nullable(),
});
