import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db, Queryable } from '../db/index.js';
import type { Logger } from '../logger.js';
import {
  type EngineSettings,
  formatDate,
  hasPaymentButtons,
  howToPayMessage,
  parsePaymentButton,
  paymentButtonData,
  toEngineSettings,
} from '../notifications/index.js';
import {
  FileTooLargeError,
  makePromise,
  promiseDates,
  RECEIPT_MAX_BYTES,
  type ReceiptState,
  takeReceipt,
} from '../receipts/index.js';
import type { ScheduledJob } from '../scheduler/index.js';
import { localDate } from '../time.js';
import { receiptStates } from '../vocabulary.js';
import type { InboundWithClient, WhatsAppClient } from '../whatsapp/index.js';
import { STEP_TTL_MS } from './chat-state.js';
import { isCancel } from './context.js';
import { createTexts } from './texts.js';

/**
 * The payment notices' buttons on WhatsApp (issue 13 §1, §2, §4, §5), the twin of
 * src/bot/payment-chat.ts: "Ya pagué" asks for the receipt and takes the image or PDF that follows
 * (downloaded through the media endpoint, checked and stored by the one receipt door), "Pagaré el…"
 * offers the dates and records the promise, "Cómo pagar" answers the provider's instructions.
 *
 * A button's payload (template quick reply or interactive reply id) names a notice, in the format
 * of src/notifications/payment-buttons.ts. It acts only when that notice belongs to the client
 * whose WhatsApp number on file sent it — WhatsApp verified that phone, so it is a verified link.
 * A forged payload, or one replayed from another number, does nothing and is logged.
 */

/** What the service answers: a text, with reply buttons or a list of choices when there are some. */
export interface WhatsAppAnswer {
  text: string;
  buttons?: { id: string; title: string }[];
  list?: { button: string; rows: { id: string; title: string }[] };
}

export interface WhatsAppPaymentsDeps {
  db: Db;
  config: Config;
  clock: Clock;
  logger: Logger;
  client: Pick<WhatsAppClient, 'mediaInfo' | 'downloadMedia'>;
  /** The company data in effect (Ajustes); default config.company. */
  company?: () => Config['company'];
  /** Engine settings in effect (Ajustes: how to pay); default from config. */
  engineSettings?: () => Promise<EngineSettings>;
}

/**
 * Handles one incoming WhatsApp message if it belongs to the payment flow: returns the answer
 * (null = handled, nothing to say) or `undefined` when the message is not for this flow.
 */
export type WhatsAppPayments = (m: InboundWithClient) => Promise<WhatsAppAnswer | null | undefined>;

export function createWhatsAppPayments(d: WhatsAppPaymentsDeps): WhatsAppPayments {
  const { db, config, clock } = d;
  const settings = () => d.engineSettings?.() ?? Promise.resolve(toEngineSettings(config));
  const today = () => localDate(clock.now(), config.timeZone);
  const texts = () => createTexts(d.company?.() ?? config.company);

  async function currentDue(s: EngineSettings, clientId: number): Promise<string | null> {
    const { rows } = await db.query<{ v: string | null }>(
      'SELECT vencimiento::text AS v FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4',
      [today(), s.cycleDays, s.reminderDaysBefore, clientId],
    );
    return rows[0]?.v ?? null;
  }

  /** The client awaiting a receipt from this number (pressed "Ya pagué" within the step's time), or null. */
  async function waitingFor(telefono: string, clientId: number): Promise<boolean> {
    const { rows } = await db.query<{ desde: Date }>(
      'SELECT desde FROM whatsapp_receipt_waits WHERE telefono = $1 AND client_id = $2',
      [telefono, clientId],
    );
    const since = rows[0]?.desde;
    return since !== undefined && clock.now().getTime() - new Date(since).getTime() <= STEP_TTL_MS;
  }
  const stopWaiting = (telefono: string) =>
    db.query('DELETE FROM whatsapp_receipt_waits WHERE telefono = $1', [telefono]);

  async function onButton(
    m: InboundWithClient,
    parsed: NonNullable<ReturnType<typeof parsePaymentButton>>,
  ): Promise<WhatsAppAnswer | null> {
    const t = texts();
    const notice = (
      await db.query<{ client_id: number | null; tipo: string; ciclo: string | null }>(
        'SELECT client_id, tipo, ciclo::text AS ciclo FROM notifications WHERE id = $1',
        [parsed.notificationId],
      )
    ).rows[0];
    if (
      m.clientId === null ||
      !notice ||
      notice.client_id !== m.clientId ||
      !hasPaymentButtons(notice.tipo) ||
      !notice.ciclo
    ) {
      d.logger.warn(
        { payload: m.payload, wamid: m.wamid, clientId: m.clientId, ownerId: notice?.client_id ?? null },
        'botón de pago de WhatsApp falsificado o de otro cliente: no se hace nada',
      );
      return null;
    }
    const clientId = m.clientId;
    const ciclo = notice.ciclo;
    const s = await settings();
    const now = clock.now();
    if (parsed.action === 'como_pagar') return { text: howToPayMessage(s) };
    if ((await currentDue(s, clientId)) !== ciclo) return { text: t.alreadyPaid };
    const grace = config.payments.promiseGraceDays;
    switch (parsed.action) {
      case 'ya_pague':
        await db.query(
          `INSERT INTO whatsapp_receipt_waits (telefono, client_id, desde) VALUES ($1, $2, $3)
           ON CONFLICT (telefono) DO UPDATE SET client_id = EXCLUDED.client_id, desde = EXCLUDED.desde`,
          [m.from, clientId, now],
        );
        d.logger.info({ clientId }, 'el cliente dice que ya pagó (WhatsApp): se pide el comprobante');
        return { text: t.askReceipt };
      case 'pagare': {
        const prev = await db.query<{ f: string }>(
          'SELECT fecha_prometida::text AS f FROM payment_promises WHERE client_id = $1 AND ciclo = $2',
          [clientId, ciclo],
        );
        if (prev.rows[0]) return { text: t.promiseAlready(formatDate(prev.rows[0].f)) };
        const dates = promiseDates(ciclo, today(), grace);
        if (dates.length === 0) return { text: t.promiseTooLate };
        const choices = dates.map((f) => ({
          id: paymentButtonData('fecha', parsed.notificationId, f),
          title: formatDate(f),
        }));
        const text = t.promiseAsk(formatDate(ciclo));
        // Up to 3 dates fit reply buttons; more go in a list (at most 10 rows, as promiseDates gives).
        return choices.length <= 3
          ? { text, buttons: choices }
          : { text, list: { button: 'Elegir fecha', rows: choices } };
      }
      case 'fecha': {
        const fecha = parsed.date!;
        const result = await db.transaction((tx) =>
          makePromise(tx, { clientId, ciclo, fecha, today: today(), graceDays: grace }, now),
        );
        if (!result.ok) {
          return {
            text:
              result.reason === 'ya_prometido'
                ? t.promiseAlready(formatDate(result.fecha))
                : t.promiseInvalidDate,
          };
        }
        d.logger.info({ clientId, fecha }, 'promesa de pago registrada (WhatsApp): avisos en pausa');
        return { text: t.promiseSaved(formatDate(fecha)) };
      }
    }
  }

  async function onMedia(m: InboundWithClient & { clientId: number }): Promise<WhatsAppAnswer> {
    const t = texts();
    const media = m.media!;
    const clientId = m.clientId;
    if (!(await waitingFor(m.from, clientId))) return { text: t.receiptNotExpected };
    const claimed = { tipo: media.kind, mime: media.mime, nombre: media.filename };
    const tooBig = (bytes: number): WhatsAppAnswer => {
      d.logger.info({ clientId, bytes, ...claimed }, 'comprobante rechazado: demasiado grande');
      return { text: t.receiptTooBig((bytes / 1024 / 1024).toFixed(1).replace('.', ',')) };
    };
    // Meta's stated size first (no download at all), then while downloading.
    const info = await d.client.mediaInfo(media.id);
    if (!info.ok) {
      d.logger.warn({ clientId, code: info.failure.code }, 'no se pudo consultar el comprobante en WhatsApp');
      return { text: t.receiptDownloadFailed };
    }
    const stated = Number(info.value.file_size ?? 0);
    if (stated > RECEIPT_MAX_BYTES) return tooBig(stated);
    let bytes: Buffer;
    try {
      bytes = await d.client.downloadMedia(info.value.url, RECEIPT_MAX_BYTES);
    } catch (err) {
      if (err instanceof FileTooLargeError) return tooBig(err.bytes);
      d.logger.warn({ clientId, err: (err as Error).message }, 'no se pudo descargar el comprobante');
      return { text: t.receiptDownloadFailed };
    }
    const now = clock.now();
    const result = await takeReceipt(
      db,
      {
        dataDir: config.dataDir,
        clientId,
        chatId: null,
        bytes,
        pauseDays: config.payments.receiptPauseDays,
      },
      { settings: await settings(), today: today(), now },
    );
    if (!result.ok && result.reason === 'tipo') {
      d.logger.warn(
        { clientId, bytes: bytes.length, ...claimed },
        'comprobante rechazado: no es imagen ni PDF',
      );
      return { text: t.receiptWrongType };
    }
    await stopWaiting(m.from);
    if (!result.ok) {
      d.logger.info({ clientId, receiptId: result.id }, 'comprobante repetido: ya estaba recibido');
      const fecha = formatDate(localDate(result.recibido, config.timeZone));
      return {
        text: t.receiptRepeated(
          fecha,
          receiptStates.label(result.estado satisfies ReceiptState).toLowerCase(),
        ),
      };
    }
    d.logger.info(
      { clientId, receiptId: result.id, bytes: bytes.length, canal: 'whatsapp' },
      'comprobante recibido',
    );
    return { text: t.receiptThanks(config.payments.receiptPauseDays) };
  }

  return async (m) => {
    const parsed = m.payload ? parsePaymentButton(m.payload) : null;
    if (parsed) return onButton(m, parsed);
    if (m.payload?.startsWith('pg:')) {
      d.logger.warn(
        { payload: m.payload, wamid: m.wamid, clientId: m.clientId },
        'botón de pago de WhatsApp con datos malformados: no se hace nada',
      );
      return null;
    }
    if (m.clientId === null) return undefined;
    if (m.media) return onMedia({ ...m, clientId: m.clientId });
    if (m.texto && isCancel(m.texto.trim()) && (await waitingFor(m.from, m.clientId))) {
      await stopWaiting(m.from);
      return { text: 'Listo. Cuando tenga el comprobante, toque «✅ Ya pagué» otra vez.' };
    }
    return undefined;
  };
}

/**
 * Nightly housekeeping: a "Ya pagué" wait older than the step's time is read as absent and would
 * only be overwritten by the number's next press, so it is deleted (the table stays small).
 */
export async function purgeReceiptWaits(db: Queryable, now: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM whatsapp_receipt_waits WHERE desde < $1', [
    new Date(now.getTime() - STEP_TTL_MS),
  ]);
  return rowCount;
}

export function receiptWaitsJob(): ScheduledJob {
  return {
    name: 'limpieza_esperas_comprobante',
    dailyAt: '03:20',
    internal: true,
    async run(tx, { now }) {
      return { borradas: await purgeReceiptWaits(tx, now) };
    },
  };
}
