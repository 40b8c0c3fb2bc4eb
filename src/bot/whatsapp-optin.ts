import { hasConsent, recordConsent } from '../clients/index.js';
import type { Queryable } from '../db/index.js';

/**
 * The client's own WhatsApp opt-in (issue 10 §7): Meta requires it before the business writes
 * first. Asked on Telegram (in /preferencias, only to a verified link: a chat linked with the
 * cédula alone could be anyone) and answered on WhatsApp ("SI"/"ACEPTO"). Both land in the one
 * consent ledger with their source; nothing here edits a consent in place.
 */

export interface WhatsAppOptIn {
  /** 5939XXXXXXXX as stored. */
  numero: string;
  consent: boolean;
}

/** The client's WhatsApp number and whether they consent to service notices there (null = no number). */
export async function whatsappOptInState(db: Queryable, clientId: number): Promise<WhatsAppOptIn | null> {
  const { rows } = await db.query<{ whatsapp: string | null }>('SELECT whatsapp FROM clients WHERE id = $1', [
    clientId,
  ]);
  const numero = rows[0]?.whatsapp ?? null;
  if (!numero) return null;
  return { numero, consent: await hasConsent(db, clientId, 'whatsapp', 'servicio') };
}

/** Records the client's answer on WhatsApp service notices, with where they gave it. */
export async function recordWhatsAppAnswer(
  tx: Queryable,
  a: { clientId: number; otorgado: boolean; fuente: 'telegram' | 'whatsapp'; evidencia: string; at: Date },
): Promise<void> {
  await recordConsent(tx, {
    clientId: a.clientId,
    canal: 'whatsapp',
    categoria: 'servicio',
    otorgado: a.otorgado,
    fuente: a.fuente,
    evidencia: a.evidencia,
    registradoPor: 'cliente',
    at: a.at,
  });
}

/** '593987654321' → '098 765 4321', as people write an Ecuadorian mobile. */
export function localMobile(numero: string): string {
  const d = numero.replace(/^593/, '0');
  return d.length === 10 ? `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}` : d;
}
