/**
 * The buttons of a payment notice (issue 13 §1) and the one format of their callback data.
 *
 * The data names the notice, never the client: `pg:<action>:<notificationId>[:<YYYY-MM-DD>]`.
 * It is looked up server-side — the bot acts only when the notice belongs to the client linked
 * (and verified) to the chat that pressed it — so a forged or replayed button for another client
 * does nothing (and is logged). Telegram allows 64 bytes of data: the longest is 28.
 */

/** The notices that carry the buttons: reminders, overdue notices and the pre-suspension notice. */
export const paymentButtonTypes = ['recordatorio_pago', 'pago_vencido', 'aviso_suspension'] as const;

export function hasPaymentButtons(tipo: string): boolean {
  return (paymentButtonTypes as readonly string[]).includes(tipo);
}

export type PaymentAction = 'ya_pague' | 'pagare' | 'fecha' | 'como_pagar';

const codes: Record<PaymentAction, string> = { ya_pague: 'y', pagare: 'p', fecha: 'd', como_pagar: 'c' };
const actions = Object.fromEntries(Object.entries(codes).map(([a, c]) => [c, a])) as Record<
  string,
  PaymentAction
>;

export const paymentButtonLabels = {
  ya_pague: '✅ Ya pagué',
  pagare: '📅 Pagaré el…',
  como_pagar: '💳 Cómo pagar',
} as const;

/** One inline button: label and callback data. */
export interface NoticeButton {
  text: string;
  data: string;
}

/** Callback data for `action` on notice `notificationId` (a date for 'fecha'). */
export function paymentButtonData(action: PaymentAction, notificationId: number, date?: string): string {
  return `pg:${codes[action]}:${notificationId}${date ? `:${date}` : ''}`;
}

/** The keyboard of a payment notice, in rows. */
export function paymentNoticeButtons(notificationId: number): NoticeButton[][] {
  return [
    [
      { text: paymentButtonLabels.ya_pague, data: paymentButtonData('ya_pague', notificationId) },
      { text: paymentButtonLabels.pagare, data: paymentButtonData('pagare', notificationId) },
    ],
    [{ text: paymentButtonLabels.como_pagar, data: paymentButtonData('como_pagar', notificationId) }],
  ];
}

export const PAYMENT_BUTTON_PATTERN = /^pg:([ypdc]):(\d{1,15})(?::(\d{4}-\d{2}-\d{2}))?$/;

/** Parses callback data of a payment button; null when it is not one (or malformed). */
export function parsePaymentButton(
  data: string,
): { action: PaymentAction; notificationId: number; date: string | null } | null {
  const m = PAYMENT_BUTTON_PATTERN.exec(data);
  if (!m) return null;
  const action = actions[m[1]!];
  if (!action || (action === 'fecha') !== (m[3] !== undefined)) return null;
  return { action, notificationId: Number(m[2]), date: m[3] ?? null };
}

/** The buttons as one row of reply buttons (WhatsApp: interactive `button`, ids = the data). */
export function paymentReplyButtons(notificationId: number): { id: string; title: string }[] {
  return paymentNoticeButtons(notificationId)
    .flat()
    .map((b) => ({ id: b.data, title: b.text }));
}

/** Telegram's inline keyboard for the buttons. */
export function toInlineKeyboard(rows: NoticeButton[][]): {
  inline_keyboard: { text: string; callback_data: string }[][];
} {
  return { inline_keyboard: rows.map((r) => r.map((b) => ({ text: b.text, callback_data: b.data }))) };
}
