import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/index.js';
import { createWhatsAppClient } from '../../src/whatsapp/graph.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { PROMOTIONAL_WORDS, suggestedTemplates } from '../../src/whatsapp/suggested-templates.js';
import {
  applyTemplateEvents,
  countBodyParameters,
  createTemplateSync,
  defaultTemplateMappings,
  listTemplateMappings,
  resolveTemplate,
  saveTemplateMapping,
  type TemplateSync,
} from '../../src/whatsapp/templates.js';
import { describeEachDb } from '../support/db.js';

const now = new Date('2026-03-10T15:00:00Z');

describe('Suggested Spanish templates (issue 10 §3)', () => {
  it('payment notices are UTILITY without promotional words; offers are MARKETING', () => {
    for (const t of suggestedTemplates) {
      const expected = t.name === 'oferta' ? 'MARKETING' : 'UTILITY';
      expect(t.category, t.name).toBe(expected);
      if (t.category === 'UTILITY') {
        for (const w of PROMOTIONAL_WORDS) expect(t.body.toLowerCase(), `${t.name}: «${w}»`).not.toContain(w);
      }
    }
  });

  it('each suggested body uses exactly the default mapping’s parameters, with an example each', () => {
    for (const m of defaultTemplateMappings) {
      const t = suggestedTemplates.find((s) => s.name === m.plantilla);
      expect(t, m.tipo).toBeDefined();
      expect(countBodyParameters(t!.body)).toBe(m.parametros.length);
      expect(t!.examples).toHaveLength(m.parametros.length);
    }
  });

  it('docs/whatsapp-plantillas.md ships every text as submitted', () => {
    const doc = readFileSync(new URL('../../docs/whatsapp-plantillas.md', import.meta.url), 'utf8');
    for (const t of suggestedTemplates) {
      expect(doc).toContain(`\`${t.name}\``);
      for (const line of t.body.split('\n').filter(Boolean)) expect(doc).toContain(line);
    }
  });
});

describeEachDb('WhatsApp template registry and mapping (issue 10 §3)', (ctx) => {
  let standin: WhatsAppStandin;
  let sync: TemplateSync;
  const values = { nombre: 'Ana Pérez', monto: '$25,00', fecha_vencimiento: '30/11/2026', dias: '5' };

  beforeAll(async () => {
    standin = await startWhatsAppStandin();
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      businessAccountId: standin.businessAccountId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    sync = createTemplateSync({
      db: ctx.db,
      client,
      clock: { now: () => now },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(() => standin.close());

  it('the migration stores the default mapping for every type', async () => {
    const maps = await listTemplateMappings(ctx.db);
    expect(maps.map((m) => [m.tipo, m.plantilla, m.parametros])).toEqual(
      [...defaultTemplateMappings]
        .sort((a, b) => a.tipo.localeCompare(b.tipo))
        .map((m) => [m.tipo, m.plantilla, m.parametros]),
    );
  });

  it('before any sync a notice is held: the template is not known to exist', async () => {
    const r = await resolveTemplate(ctx.db, 'recordatorio_pago', values);
    expect(r).toMatchObject({ ok: false, hold: true });
    expect(!r.ok && r.detalle).toMatch(/no existe en la cuenta de WhatsApp Business/);
  });

  it('after a sync, an approved template resolves with the parameters in the mapping’s order', async () => {
    expect(await sync.runOnce()).toEqual({ ok: true, plantillas: suggestedTemplates.length });
    const r = await resolveTemplate(ctx.db, 'recordatorio_pago', values);
    expect(r).toEqual({
      ok: true,
      template: {
        name: 'recordatorio_pago',
        language: 'es',
        params: ['Ana Pérez', '$25,00', '30/11/2026', '5'],
        // Its quick replies (Ya pagué, Pagaré el…, Cómo pagar), learnt from the BUTTONS component.
        quickReplies: 3,
      },
      categoria: 'UTILITY',
    });
    const plain = await resolveTemplate(ctx.db, 'pago_recibido', {
      nombre: 'Ana',
      monto: '$25,00',
      fecha_pago: '30/11/2026',
    });
    expect(plain.ok && plain.template.quickReplies).toBeUndefined();
  });

  it('an empty name gets a wording; another missing value fails the notice (not held)', async () => {
    const soft = await resolveTemplate(ctx.db, 'recordatorio_pago', { ...values, nombre: '  ' });
    expect(soft.ok && soft.template.params[0]).toBe('estimado cliente');
    const hard = await resolveTemplate(ctx.db, 'recordatorio_pago', { ...values, monto: '' });
    expect(hard).toMatchObject({ ok: false, hold: false, faltan: ['monto'] });
  });

  it('a type without mapping (manual) is held with a reason for staff', async () => {
    const r = await resolveTemplate(ctx.db, 'manual', { mensaje: 'x' });
    expect(r).toMatchObject({ ok: false, hold: true });
    expect(!r.ok && r.detalle).toContain('Manual');
  });

  it('a template not APPROVED (webhook) holds the notice until it is approved again', async () => {
    await applyTemplateEvents(
      ctx.db,
      [{ nombre: 'pago_vencido', idioma: 'es', estado: 'PAUSED', motivo: 'NONE' }],
      now,
    );
    const held = await resolveTemplate(ctx.db, 'pago_vencido', values);
    expect(held).toMatchObject({ ok: false, hold: true });
    expect(!held.ok && held.detalle).toContain('está pausada por baja calidad en Meta');
    await applyTemplateEvents(ctx.db, [{ nombre: 'pago_vencido', idioma: 'es', estado: 'APPROVED' }], now);
    expect((await resolveTemplate(ctx.db, 'pago_vencido', values)).ok).toBe(true);
  });

  it('an event about a template we never synced asks for a sync', async () => {
    expect(
      await applyTemplateEvents(ctx.db, [{ nombre: 'nueva', idioma: 'es', estado: 'APPROVED' }], now),
    ).toBe(true);
    expect(
      await applyTemplateEvents(ctx.db, [{ nombre: 'nueva', idioma: 'es', categoria: 'MARKETING' }], now),
    ).toBe(false);
  });

  it('a synced template whose parameter count differs from the mapping holds the notice', async () => {
    await standin.setTemplate(
      {
        name: 'pago_recibido',
        language: 'es',
        status: 'APPROVED',
        category: 'UTILITY',
        body: 'Hola {{1}}, pago de {{2}}.',
      },
      { notify: false },
    );
    await sync.runOnce();
    const r = await resolveTemplate(ctx.db, 'pago_recibido', {
      nombre: 'Ana',
      monto: '$1,00',
      fecha_pago: '01/03/2026',
    });
    expect(r).toMatchObject({ ok: false, hold: true });
    expect(!r.ok && r.detalle).toContain('tiene 2 parámetros y la asignación de «Pago recibido» envía 3');
  });

  it('saving a mapping validates the parameter count, empty and unknown parameters', async () => {
    const refused = async (parametros: unknown) => {
      try {
        await saveTemplateMapping(
          ctx.db,
          { tipo: 'pago_recibido', plantilla: 'pago_recibido', parametros },
          'ana',
          now,
        );
        return null;
      } catch (err) {
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe('WHATSAPP_PLANTILLA_INVALIDA');
        return (err as AppError).message;
      }
    };
    expect(await refused(['nombre', 'monto', 'fecha_pago'])).toContain('tiene 2 parámetros y aquí hay 3');
    expect(await refused(['nombre', ''])).toContain('{{2}} está vacío');
    expect(await refused(['nombre', 'color'])).toContain('«color», que no es una variable');
    const saved = await saveTemplateMapping(
      ctx.db,
      { tipo: 'pago_recibido', plantilla: 'pago_recibido', parametros: ['nombre', 'monto'] },
      'ana',
      now,
    );
    expect(saved).toMatchObject({ parametros: ['nombre', 'monto'], actualizado_por: 'ana' });
    const r = await resolveTemplate(ctx.db, 'pago_recibido', { nombre: 'Ana', monto: '$1,00' });
    expect(r.ok && r.template.params).toEqual(['Ana', '$1,00']);
  });

  it('a template Meta no longer lists leaves the registry at the next sync', async () => {
    standin.removeTemplate('oferta', 'es');
    await sync.runOnce();
    const r = await resolveTemplate(ctx.db, 'oferta', { nombre: 'Ana', mensaje: 'x' });
    expect(!r.ok && r.hold).toBe(true);
  });
});
