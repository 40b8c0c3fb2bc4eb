import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../src/http/types.js';
import {
  alertStates,
  backupKinds,
  backupStates,
  botUpdateStates,
  campaignStates,
  channelNames,
  chatStates,
  clientStates,
  consentCategories,
  consentSources,
  envioStates,
  importStates,
  messageDirections,
  messageStates,
  notificationReasons,
  notificationStates,
  notificationTypes,
  pauseReasons,
  paymentStates,
  promiseStates,
  receiptStates,
  staffRoles,
  vocabularies,
} from '../src/vocabulary.js';
import { auth, buildTestApp } from './support/app.js';
import { describeEachDb } from './support/db.js';

/**
 * Which vocabulary each enumerated SQL column holds. A new CHECK (col IN (…)) must be added here
 * and to src/vocabulary.ts: the test fails until it is.
 */
const columns: Record<string, { values: readonly string[] }> = {
  'clients.estado': clientStates,
  'campaigns.estado': campaignStates,
  'campaigns.canal': channelNames,
  'invitation_links.canal': channelNames,
  'notifications.tipo': notificationTypes,
  'notifications.estado': notificationStates,
  'notifications.canal': channelNames,
  'notification_envios.canal': channelNames,
  'notification_envios.estado': envioStates,
  'clients.canal_preferido': channelNames,
  'consents.canal': channelNames,
  'consents.categoria': consentCategories,
  'consents.fuente': consentSources,
  'channel_pacer.canal': channelNames,
  'channel_recipients.canal': channelNames,
  'delivery_status_parked.canal': channelNames,
  'templates.tipo': notificationTypes,
  'channel_templates.tipo': notificationTypes,
  'bot_updates.estado': botUpdateStates,
  'bot_chats.estado': chatStates,
  'client_imports.estado': importStates,
  'backups.kind': backupKinds,
  'backups.status': backupStates,
  'users.rol': staffRoles,
  'staff_alerts.estado': alertStates,
  'payment_receipts.estado': receiptStates,
  'payment_promises.estado': promiseStates,
  'notice_pauses.motivo': pauseReasons,
  'client_messages.direccion': messageDirections,
  'client_messages.estado': messageStates,
};

describeEachDb('One vocabulary (issue 9 §7)', (ctx) => {
  it('every CHECK (column IN (…)) in the schema lists exactly the vocabulary values', async () => {
    const { rows } = await ctx.db.query<{ tbl: string; def: string }>(
      `SELECT c.relname AS tbl, pg_get_constraintdef(k.oid) AS def
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.contype = 'c' AND c.relnamespace = current_schema()::regnamespace`,
    );
    const found = new Map<string, string[]>();
    for (const r of rows) {
      // CHECK ((estado = ANY (ARRAY['activo'::text, 'suspendido'::text])))
      const m = /\(\(?(\w+)\)? = ANY \(\(?ARRAY\[(.*?)\]/.exec(r.def);
      if (!m) continue;
      const values = [...m[2]!.matchAll(/'([^']*)'/g)].map((v) => v[1]!);
      found.set(`${r.tbl}.${m[1]}`, values);
    }
    expect(found.size).toBeGreaterThanOrEqual(7);
    for (const [column, values] of found) {
      const vocab = columns[column];
      expect(vocab, `${column} has a CHECK list: add it to src/vocabulary.ts and to this test`).toBeDefined();
      expect([...values].sort(), column).toEqual([...vocab!.values].sort());
    }
  });

  it('teltec_payment_state() answers only the payment states', async () => {
    const { rows } = await ctx.db.query<{ s: string }>(
      `SELECT DISTINCT teltec_payment_state(d, '2026-03-10'::date, 3) AS s
         FROM unnest(ARRAY[NULL, '2026-01-01', '2026-03-10', '2026-03-12', '2026-12-31']::date[]) AS d`,
    );
    expect(rows.map((r) => r.s).sort()).toEqual([...paymentStates.values].sort());
  });

  it('every reason the send-time re-check can write has a label', async () => {
    // The stale-notice rule, driven through each of its branches, plus the other re-check reasons.
    const { rows } = await ctx.db.query<{ s: string | null }>(
      `SELECT DISTINCT teltec_payment_notice_stale(t.tipo, t.ciclo::date, t.paso, t.due::date,
                                                   '2026-03-10'::date, 5, 3) AS s
         FROM (VALUES ('recordatorio_pago', '2026-03-12', 0, '2026-04-12'),
                      ('recordatorio_pago', '2026-03-08', 0, '2026-03-08'),
                      ('pago_vencido', '2026-03-01', 0, '2026-03-01'),
                      ('pago_vencido', '2026-03-10', 0, '2026-03-10')) AS t(tipo, ciclo, paso, due)`,
    );
    const written = rows.map((r) => r.s).filter((s): s is string => s !== null);
    expect(written.length).toBeGreaterThanOrEqual(3);
    const reasons = [
      ...written,
      'preferencia',
      'campana_cancelada',
      ...clientStates.values.filter((s) => s !== 'activo').map((s) => `cliente_${s}`),
      ...pauseReasons.values.map((m) => `pausa_${m}`),
    ];
    const labels = notificationReasons.labels as Record<string, string>;
    for (const r of reasons) expect(labels[r], `motivo ${r} has no label in src/vocabulary.ts`).toBeTruthy();
  });

  describeLabels(ctx);
});

function describeLabels(ctx: { readonly db: import('../src/db/index.js').Db }) {
  let app: App;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
  });
  afterAll(async () => {
    await app.close();
  });

  it('GET /api/vocabulario gives the admin page one label per value', async () => {
    const res = await app.inject({ url: '/api/vocabulario', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(Object.keys(vocabularies).sort());
    expect(body.estado_pago.al_dia).toBe('Al día');
    // The same reason reads the same wherever it is shown.
    expect(body.motivo.blocked).toBe(body.motivo_inalcanzable.bloqueado);
    for (const [group, labels] of Object.entries(body) as [string, Record<string, string>][]) {
      const texts = Object.values(labels);
      expect(new Set(texts).size, `${group}: two values share a label`).toBe(texts.length);
    }
  });
}
