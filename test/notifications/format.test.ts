import { describe, expect, it } from 'vitest';
import { statusText } from '../../src/bot/texts.js';
import {
  dueStatus,
  formatDate,
  formatDateTime,
  formatDays,
  formatMoney,
  formatTime,
} from '../../src/notifications/format.js';
import { defaultTemplates, renderTemplate, templateValues } from '../../src/notifications/templates.js';
import { settingsFor } from './support.js';

const s = settingsFor({ EMPRESA_NOMBRE: 'TelTec', EMPRESA_TELEFONO: '022345678' });

describe('format (es-EC): one form for money, dates, times and days', () => {
  it('money has a decimal comma and a thousands period', () => {
    expect(formatMoney(25.5)).toBe('$25,50');
    expect(formatMoney(25)).toBe('$25,00');
    expect(formatMoney(1234.5)).toBe('$1.234,50');
    expect(formatMoney(0)).toBe('$0,00');
    expect(formatMoney(-3)).toBe('-$3,00');
    expect(formatMoney(null)).toBe('');
  });

  it('dates are dd/mm/aaaa', () => {
    expect(formatDate('2026-03-05')).toBe('05/03/2026');
    expect(formatDate('2026-03-05T10:00:00Z')).toBe('05/03/2026');
    expect(formatDate(null)).toBe('');
  });

  it('times are 24-hour, with no "a. m." whose period doubles at the end of a sentence', () => {
    const night = new Date('2026-11-28T06:54:00Z'); // 01:54 in Guayaquil
    expect(formatTime(night, 'America/Guayaquil')).toBe('01:54');
    expect(`Abierta a las ${formatTime(night, 'America/Guayaquil')}.`).not.toMatch(/\.\.$/);
    expect(formatTime(new Date('2026-11-29T01:00:00Z'), 'America/Guayaquil')).toBe('20:00');
    expect(formatDateTime(night, 'America/Guayaquil')).toBe('28/11/2026 01:54');
    expect(formatDateTime(new Date('2026-11-28T04:30:00Z'), 'America/Guayaquil')).toBe('27/11/2026 23:30');
  });

  it('days agree in number', () => {
    expect(formatDays(1)).toBe('1 día');
    expect(formatDays(2)).toBe('2 días');
    expect(formatDays(-1)).toBe('1 día');
  });

  it('a due date has one wording: "vence hoy" on the day, right plurals, never 0 or negative days', () => {
    const today = '2026-11-28';
    expect(dueStatus('2026-11-28', today).phrase).toBe('vence hoy, 28/11/2026');
    expect(dueStatus('2026-11-29', today).phrase).toBe('vence mañana, 29/11/2026');
    expect(dueStatus('2026-11-30', today).phrase).toBe('vence el 30/11/2026 (en 2 días)');
    expect(dueStatus('2026-11-27', today).phrase).toBe('venció ayer, 27/11/2026');
    expect(dueStatus('2026-11-25', today).phrase).toBe('venció el 25/11/2026 (hace 3 días)');
    for (let d = -40; d <= 40; d++) {
      const due = new Date(Date.parse(today + 'T00:00:00Z') + d * 86_400_000).toISOString().slice(0, 10);
      const p = dueStatus(due, today).phrase;
      expect(p).not.toMatch(/-\d|\b0 días|\b1 días|hace 0|en 0/);
    }
  });
});

describe('the reminder and /status read the same amount and the same due-date rule', () => {
  const client = { nombre: 'Ana', plan: 'Hogar', precio: 25.5 };

  it('both write $25,50', () => {
    const reminder = renderTemplate(
      defaultTemplates.recordatorio_pago,
      templateValues(
        { tipo: 'recordatorio_pago', today: '2026-11-26', ...client, vencimiento: '2026-11-28' },
        s,
      ),
    );
    const status = statusText(
      {
        nombre: 'Ana',
        plan: 'Hogar',
        precio: 25.5,
        estado: 'activo',
        fechaUltimoPago: '2026-10-29',
        fechaVencimiento: '2026-11-28',
        estadoPago: 'por_vencer',
        diasRestantes: 2,
        montoPendiente: 25.5,
      },
      s.company,
    );
    expect(reminder).toContain('<b>$25,50</b>');
    expect(status).toContain('$25,50');
    expect(reminder).not.toContain('$25.50');
    expect(status).not.toContain('$25.50');
  });

  it('an overdue notice on the due date itself says "vence hoy", never "hace 0 días"', () => {
    const text = renderTemplate(
      defaultTemplates.pago_vencido,
      templateValues({ tipo: 'pago_vencido', today: '2026-11-28', ...client, vencimiento: '2026-11-28' }, s),
    );
    expect(text).toContain('vence hoy, 28/11/2026');
    expect(text).not.toMatch(/hace 0 días|venció el 28\/11/);
    const later = renderTemplate(
      defaultTemplates.pago_vencido,
      templateValues({ tipo: 'pago_vencido', today: '2026-11-29', ...client, vencimiento: '2026-11-28' }, s),
    );
    expect(later).toContain('venció ayer, 28/11/2026');
  });

  it('a reminder one day ahead says "mañana", not "en 1 días"', () => {
    const text = renderTemplate(
      defaultTemplates.recordatorio_pago,
      templateValues(
        { tipo: 'recordatorio_pago', today: '2026-11-27', ...client, vencimiento: '2026-11-28' },
        s,
      ),
    );
    expect(text).toContain('vence mañana, 28/11/2026');
    expect(text).not.toMatch(/1 días|en -?\d+ días\)/);
  });
});
