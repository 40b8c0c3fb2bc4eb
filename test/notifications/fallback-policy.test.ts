import { describe, expect, it } from 'vitest';
import {
  describePath,
  fallbackRule,
  lostChannels,
  mayFallBack,
  tryOrder,
} from '../../src/notifications/fallback-policy.js';

describe('fallback policy per kind of notice', () => {
  it('must-deliver, one fallback, none', () => {
    expect(fallbackRule('pago_vencido', false)).toBe('must_deliver');
    expect(fallbackRule('aviso_suspension', false)).toBe('must_deliver');
    expect(fallbackRule('mantenimiento', true)).toBe('must_deliver');
    expect(fallbackRule('mantenimiento', false)).toBe('one_fallback');
    expect(fallbackRule('recordatorio_pago', false)).toBe('one_fallback');
    expect(fallbackRule('oferta', false)).toBe('no_fallback');
    expect(mayFallBack('one_fallback', ['telegram'])).toBe(true);
    expect(mayFallBack('one_fallback', ['telegram', 'sms'])).toBe(false);
    expect(mayFallBack('no_fallback', ['telegram'])).toBe(false);
    expect(mayFallBack('must_deliver', ['telegram', 'whatsapp', 'sms'])).toBe(true);
    expect(lostChannels({ canales_descartados: ['telegram', 'fax'] })).toEqual(['telegram']);
    expect(tryOrder('sms', ['telegram', 'email'])).toEqual(['sms', 'telegram', 'email', 'whatsapp']);
  });

  it('describes the path for staff', () => {
    const t = (hhmm: string) => new Date(`2026-03-10T${hhmm}:00-05:00`);
    const none = { enviado_at: null, entregado_at: null, leido_at: null, fallido_at: null };
    expect(
      describePath(
        [
          { ...none, canal: 'telegram', estado: 'fallido', error_codigo: '403', fallido_at: t('08:01') },
          {
            ...none,
            canal: 'whatsapp',
            estado: 'entregado',
            error_codigo: null,
            enviado_at: t('08:02'),
            entregado_at: t('08:03'),
          },
        ],
        'America/Guayaquil',
      ),
    ).toBe('Telegram: bloqueado → WhatsApp: entregado 08:03');
    expect(
      describePath(
        [
          { ...none, canal: 'sms', estado: 'fallido', error_codigo: 'sms_error_servidor' },
          { ...none, canal: 'sms', estado: 'fallido', error_codigo: 'sms_error_servidor' },
          { ...none, canal: 'email', estado: 'enviado', error_codigo: null, enviado_at: t('09:15') },
        ],
        'America/Guayaquil',
      ),
    ).toBe('SMS: error de la pasarela → Correo: enviado 09:15');
  });
});
