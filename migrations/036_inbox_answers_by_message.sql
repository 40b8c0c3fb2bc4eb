-- The inbox shows each message with its answers (src/messages/messages.ts `listMessages`): an
-- answer was found by reading every stored message, once per message on the page. With 50,000
-- incoming messages the first page took 0.66 s on PGlite (the embedded database answering nothing
-- else meanwhile), 0.07 s with this index and the page read before its answers. Only answers are
-- written into it.
CREATE INDEX client_messages_reply_idx ON client_messages (responde_a) WHERE responde_a IS NOT NULL;

-- The inbox's page, newest first (incoming messages only): read in order, not sorted from all of
-- them (50,000 incoming messages: 0.13 s -> see `npm run bench -- listas`).
CREATE INDEX client_messages_inbox_idx ON client_messages (created_at DESC, id DESC) WHERE direccion = 'entrante';
