import type { HowToPay } from './types.js';

export type { BankAccountLike, HowToPay } from './types.js';

/**
 * "Cómo pagar" (issue 13 §5): the provider's bank accounts, payment points and payment link, as
 * edited in Ajustes. One text for every place a client reads it: the `{como_pagar}` template
 * variable, the bot's /comopagar and the "💳 Cómo pagar" button.
 */

const accountKind = { ahorros: 'Ahorros', corriente: 'Corriente' } as const;

/**
 * Plain text (not HTML: the template escapes it) listing where to pay; '' when nothing is
 * configured, so `{como_pagar}` is absorbed by the wording (it is a soft variable).
 */
export function howToPayText(h: HowToPay): string {
  const blocks: string[] = [];
  if (h.cuentas.length) {
    const lines = h.cuentas.map((c) => {
      const id = c.identificacion ? `, ${c.identificacion}` : '';
      return `• ${c.banco} — ${accountKind[c.tipo]} N.º ${c.numero} (${c.titular}${id})`;
    });
    blocks.push(['🏦 Transferencia o depósito:', ...lines].join('\n'));
  }
  if (h.puntos.length) blocks.push(['📍 Puntos de pago:', ...h.puntos.map((p) => `• ${p}`)].join('\n'));
  if (h.enlace) blocks.push(`💳 Pago en línea: ${h.enlace}`);
  return blocks.join('\n\n');
}
