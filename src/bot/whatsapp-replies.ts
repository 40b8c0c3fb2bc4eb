import { hasConsent, recordConsents } from '../clients/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { recordIncoming } from '../messages/index.js';
import type { EngineSettings } from '../notifications/index.js';
import type { WhatsAppService } from '../whatsapp/index.js';
import { clientDataText } from './my-data.js';
import { clientStatusText } from './status.js';
import { localMobile, recordWhatsAppAnswer } from './whatsapp-optin.js';
import { createWhatsAppPayments, type WhatsAppAnswer } from './whatsapp-payments.js';

/**
 * What the service answers when a client writes on WhatsApp (issue 10 §7, issue 11 §4), the
 * WhatsApp twin of the Telegram commands:
 * - "ESTADO" — the /status text; "MIS DATOS" — the /misdatos text. Only for a message from the
 *   client's own number on file: WhatsApp has verified that phone, so it counts as a verified link.
 * - "BAJA" — what /baja does: no more notices on this channel (service and offers revoked in the
 *   consent ledger, source 'whatsapp').
 * - "SI" / "ACEPTO" — the opt-in answer: service notices on WhatsApp (source 'whatsapp').
 * A known client who never answered the opt-in gets the question once per message that is not a
 * keyword; anything else is left to staff: stored in the "Mensajes" inbox (issue 13 §8) and
 * acknowledged with the opening hours (once per conversation; null otherwise).
 * The window is open (the client just wrote): the caller answers with free text.
 */

export interface WhatsAppIncoming {
  wamid: string;
  /** 5939XXXXXXXX. */
  from: string;
  texto: string | null;
  /** A button's payload / interactive reply id. */
  payload: string | null;
  /** The client whose WhatsApp number on file is `from`; null for an unknown number. */
  clientId: number | null;
}

export interface WhatsAppRepliesDeps {
  db: Db;
  config: Config;
  clock: Clock;
  /** The company data in effect (Ajustes); default config.company. */
  company?: () => Config['company'];
}

type Keyword = 'estado' | 'baja' | 'acepto' | 'misdatos';

/** "Sí." / "si" / "ACEPTO" / "Mis datos" → the keyword (accents, case, spaces and marks ignored). */
export function whatsappKeyword(text: string | null): Keyword | null {
  if (!text) return null;
  const t = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t === 'ESTADO' || t === 'STATUS') return 'estado';
  if (t === 'BAJA' || t === 'STOP' || t === 'SALIR') return 'baja';
  if (t === 'SI' || t === 'ACEPTO' || t === 'SI ACEPTO') return 'acepto';
  if (t === 'MIS DATOS' || t === 'MISDATOS') return 'misdatos';
  return null;
}

export function createWhatsAppReplies(d: WhatsAppRepliesDeps) {
  // Ajustes (issue 14): the company data in effect when the message arrives, never fixed at start.
  const textsFor = (company: Config['company']) => {
    const reach = company.telefono ? `${company.nombre} (${company.telefono})` : company.nombre;
    return {
      unknownNumber:
        `Este número de WhatsApp no está registrado en ${company.nombre}. Para consultar su cuenta, ` +
        `comuníquese con ${reach} y pida que registren este número.`,
      question: (numero: string) =>
        `👋 Hola, le escribe ${company.nombre}.\n\n¿Desea recibir sus avisos de pago y del servicio por ` +
        `WhatsApp en este número (${numero})? Responda *SI* para aceptar.\n\n` +
        'También puede escribir *ESTADO* (su servicio y su pago), *MIS DATOS* o *BAJA* (no recibir avisos aquí).',
      accepted:
        '✅ Listo: desde ahora recibirá sus avisos por WhatsApp. Escriba *ESTADO* para ver su servicio ' +
        'o *BAJA* si ya no los quiere.',
      alreadyAccepted: 'Ya recibe sus avisos por WhatsApp. Escriba *ESTADO* para ver su servicio.',
      received:
        '📨 Recibimos su mensaje: lo leerá nuestro personal.' +
        (company.horario ? ` Horario de atención: ${company.horario}.` : ''),
      unsubscribed:
        `Listo: ya no le enviaremos avisos ni ofertas de ${company.nombre} por WhatsApp. ` +
        'Si cambia de opinión, escriba *SI*.',
    };
  };

  /** The answer to one incoming message, or null to leave it to staff. Never throws for a bad text. */
  return async function reply(m: WhatsAppIncoming): Promise<string | null> {
    const texts = textsFor(d.company?.() ?? d.config.company);
    const keyword = whatsappKeyword(m.payload === 'optin:si' ? 'SI' : m.texto);
    if (m.clientId === null) return keyword ? texts.unknownNumber : null;
    const clientId = m.clientId;
    const evidencia = `WhatsApp ${m.from}, mensaje ${m.wamid}: «${(m.texto ?? m.payload ?? '').slice(0, 80)}»`;
    const at = d.clock.now();
    switch (keyword) {
      case 'estado':
        return clientStatusText(d, clientId);
      case 'misdatos':
        return clientDataText(d, clientId);
      case 'baja':
        await d.db.transaction((tx) =>
          recordConsents(
            tx,
            (['servicio', 'marketing'] as const).map((categoria) => ({
              clientId,
              canal: 'whatsapp' as const,
              categoria,
              otorgado: false,
              fuente: 'whatsapp' as const,
              evidencia,
              registradoPor: 'cliente',
              at,
            })),
          ),
        );
        return texts.unsubscribed;
      case 'acepto':
        if (await hasConsent(d.db, clientId, 'whatsapp', 'servicio')) return texts.alreadyAccepted;
        await d.db.transaction((tx) =>
          recordWhatsAppAnswer(tx, { clientId, otorgado: true, fuente: 'whatsapp', evidencia, at }),
        );
        return texts.accepted;
      default: {
        // Free text is not lost (issue 13 §8): the staff inbox, on the channel it came by.
        const texto = m.texto?.trim();
        const stored = texto
          ? await recordIncoming(d.db, {
              clientId,
              chatId: null,
              canal: 'whatsapp',
              texto,
              // The number on file wrote: WhatsApp verified that phone.
              verified: true,
              origen: `whatsapp:${m.wamid}`,
              now: at,
            })
          : null;
        // Asked once: a client who has answered either way (or whom staff recorded) is not asked again.
        const { rows } = await d.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM consents WHERE client_id = $1 AND canal = 'whatsapp' AND categoria = 'servicio'`,
          [clientId],
        );
        if (rows[0]!.n === 0) return texts.question(localMobile(m.from));
        return stored?.acknowledge ? texts.received : null;
      }
    }
  };
}

export type WhatsAppReplies = ReturnType<typeof createWhatsAppReplies>;

const textAnswer = (text: string | null): WhatsAppAnswer | null => (text ? { text } : null);

/**
 * Answers every message clients write on WhatsApp (main.ts and the sandbox wire it the same way).
 * Free text: the client's window is open, they just wrote. A failed answer is logged, never thrown.
 */
export function connectWhatsAppReplies(
  service: Pick<WhatsAppService, 'onInbound' | 'client'>,
  deps: WhatsAppRepliesDeps & { logger: Logger; engineSettings?: () => Promise<EngineSettings> },
): () => void {
  const reply = createWhatsAppReplies(deps);
  // The payment buttons, receipts and promises (issue 13) first; what they leave is a reply.
  const payments = createWhatsAppPayments({ ...deps, client: service.client });
  return service.onInbound(async (m) => {
    const handled = await payments(m);
    const answer: WhatsAppAnswer | null = handled === undefined ? textAnswer(await reply(m)) : handled;
    if (!answer) return;
    const sent = answer.buttons
      ? await service.client.sendInteractive(m.from, { body: answer.text, buttons: answer.buttons })
      : answer.list
        ? await service.client.sendInteractive(m.from, { body: answer.text, ...answer.list })
        : await service.client.sendText(m.from, answer.text);
    if (!sent.ok) {
      deps.logger.warn(
        { clientId: m.clientId, code: sent.failure.code },
        `no se pudo responder por WhatsApp: ${sent.failure.message}`,
      );
    }
  });
}
