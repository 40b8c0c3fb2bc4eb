-- Issue 16 §1: one claim index, not two. Every notice the outbox creates is written into each of
-- its indexes that covers it; an index with a predicate costs its predicate's evaluation for every
-- new notice even where it writes nothing. `notifications_claim_now_idx` served one query, the claim
-- outside the send window (urgent rows and welcomes, by due time), whose rows the claim index
-- already holds in that order at its urgent end (`urgente DESC, proximo_intento, id`) — all but
-- the welcomes, which the bot has always queued urgent (src/bot/links.ts), and which the outbox now
-- queues urgent whoever asks (src/notifications/outbox.ts `enqueue`). A welcome queued otherwise (by hand,
-- or by an older version) becomes urgent here, so the night's claim still finds it.
UPDATE notifications SET urgente = true WHERE tipo = 'bienvenida' AND estado = 'pendiente' AND NOT urgente;
DROP INDEX notifications_claim_now_idx;
