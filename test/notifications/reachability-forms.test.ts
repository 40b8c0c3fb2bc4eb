import { expect, it } from 'vitest';
import { describeEachDb } from '../support/db.js';

// "Some channel can reach the client" has two forms built on the same per-channel rules
// (migration 028): the reasons per channel (`teltec_channel_reasons`, a jsonb the re-check and the
// policy read) and the boolean generation asks of every client in a notice window
// (`teltec_reachable`, since migration 034 the OR of `teltec_channel_reaches` for each channel,
// which the reach counts read one channel at a time). They must agree for every client, time, kind
// of notice and set of enabled channels: the boolean with the reasons, and each channel's answer
// with that channel's reason.
describeEachDb('reachability: the boolean form agrees with the reasons per channel', (ctx) => {
  it('for every mix of Telegram, WhatsApp, SMS, e-mail, marks and consents', async () => {
    // 4 × 5 × 5 × 4 × 5 = 2,000 clients, one per mix.
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, chat_id, telegram_blocked, telegram_unreachable,
                            whatsapp, whatsapp_inalcanzable, whatsapp_inalcanzable_hasta,
                            telefono_norm, sms_inalcanzable, sms_inalcanzable_hasta,
                            email, email_inalcanzable, email_inalcanzable_hasta)
       SELECT lpad((900000 + i)::text, 10, '0'), 'Mezcla ' || i,
              CASE WHEN tg > 0 THEN 7000000 + i END, tg = 2, CASE WHEN tg = 3 THEN 'deactivated' END,
              CASE WHEN wa > 0 THEN '59398' || lpad(i::text, 7, '0') END,
              CASE WHEN wa >= 2 THEN 'bloqueado' END,
              CASE wa WHEN 2 THEN timestamptz '2026-03-20T00:00:00Z' WHEN 3 THEN timestamptz '2026-03-01T00:00:00Z' END,
              CASE sms WHEN 0 THEN NULL WHEN 2 THEN '0991' ELSE '5939' || lpad(i::text, 8, '0') END,
              CASE WHEN sms >= 3 THEN 'rechazado' END,
              CASE sms WHEN 3 THEN timestamptz '2026-03-20T00:00:00Z' WHEN 4 THEN timestamptz '2026-03-01T00:00:00Z' END,
              CASE em WHEN 0 THEN NULL WHEN 2 THEN 'sin-arroba' ELSE 'c' || i || '@correo.ec' END,
              CASE WHEN em = 3 THEN 'rebote' END,
              CASE WHEN em = 3 THEN timestamptz '2026-03-20T00:00:00Z' END
         FROM generate_series(0, 1999) AS i,
              LATERAL (SELECT i % 4 AS tg, (i / 4) % 5 AS wa, (i / 20) % 5 AS sms, (i / 100) % 4 AS em) AS m`,
    );
    // Consents, by the fifth digit of the mix: none; WhatsApp service granted; every service
    // consent revoked; marketing granted everywhere; both.
    await ctx.db.query(
      `INSERT INTO consents (client_id, canal, categoria, otorgado, fuente, created_at)
       SELECT c.id, k.canal, k.categoria, k.otorgado, 'contrato', timestamptz '2026-02-01T00:00:00Z'
         FROM clients c
         CROSS JOIN LATERAL (SELECT (c.cedula::int - 900000) / 400 AS mix) m
         JOIN (VALUES (1, 'whatsapp', 'servicio', true),
                      (2, 'whatsapp', 'servicio', false), (2, 'sms', 'servicio', false), (2, 'email', 'servicio', false),
                      (3, 'whatsapp', 'marketing', true), (3, 'sms', 'marketing', true), (3, 'email', 'marketing', true),
                      (4, 'whatsapp', 'servicio', true), (4, 'whatsapp', 'marketing', true),
                      (4, 'sms', 'marketing', true), (4, 'email', 'marketing', true)) AS k(mix, canal, categoria, otorgado)
           ON k.mix = m.mix
        WHERE c.nombre LIKE 'Mezcla %'`,
    );
    const { rows } = await ctx.db.query<{
      casos: number;
      distintos: number;
      alcanzables: number;
      canal_distinto: number;
      por_canal: number[];
    }>(
      `SELECT count(*)::int AS casos,
              count(*) FILTER (WHERE teltec_reachable(c, t.p_now, m.mkt, e.en)
                                 IS DISTINCT FROM jsonb_path_exists(teltec_channel_reasons(c, t.p_now, m.mkt, e.en),
                                                                    '$.* ? (@ == null)'))::int AS distintos,
              count(*) FILTER (WHERE teltec_reachable(c, t.p_now, m.mkt, e.en))::int AS alcanzables,
              count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM unnest(ARRAY['telegram', 'whatsapp', 'sms', 'email']) AS k(canal)
                 WHERE teltec_channel_reaches(c, t.p_now, m.mkt, e.en, k.canal)
                         IS DISTINCT FROM (teltec_channel_reasons(c, t.p_now, m.mkt, e.en) ->> k.canal IS NULL)))::int
                AS canal_distinto,
              ARRAY[count(*) FILTER (WHERE teltec_channel_reaches(c, t.p_now, m.mkt, e.en, 'telegram')),
                    count(*) FILTER (WHERE teltec_channel_reaches(c, t.p_now, m.mkt, e.en, 'whatsapp')),
                    count(*) FILTER (WHERE teltec_channel_reaches(c, t.p_now, m.mkt, e.en, 'sms')),
                    count(*) FILTER (WHERE teltec_channel_reaches(c, t.p_now, m.mkt, e.en, 'email'))]::int[] AS por_canal
         FROM clients c
        CROSS JOIN (VALUES (NULL::timestamptz), (timestamptz '2026-03-10T15:00:00Z')) AS t(p_now)
        CROSS JOIN (VALUES (false), (true)) AS m(mkt)
        CROSS JOIN (VALUES (NULL::text[]), (ARRAY['telegram', 'whatsapp', 'sms', 'email']), (ARRAY['telegram']),
                           (ARRAY['whatsapp', 'sms']), (ARRAY['email']), ('{}'::text[])) AS e(en)
        WHERE c.nombre LIKE 'Mezcla %'`,
    );
    const r = rows[0]!;
    expect(r.casos).toBe(2000 * 2 * 2 * 6);
    expect(r.distintos).toBe(0);
    // The mix covers both answers, by more than one channel.
    expect(r.alcanzables).toBeGreaterThan(r.casos / 10);
    expect(r.alcanzables).toBeLessThan(r.casos);
    // Each channel alone: the same answer as its reason, and each reaches some and not others.
    expect(r.canal_distinto).toBe(0);
    for (const n of r.por_canal) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(r.casos);
    }
  });
});
