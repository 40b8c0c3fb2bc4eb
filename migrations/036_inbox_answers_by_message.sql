-- The inbox shows each message with its answers (src/messages/messages.ts `listMessages`): an
-- answer was found by reading every stored message, once per message on the page, and the page
-- was sorted from every incoming message. With 50,000 incoming messages the first page took
-- 0.66 s on PGlite (the embedded database answering nothing else meanwhile); with these indexes,
-- the page read before its answers and its totals counted apart, 0.02-0.03 s
-- (`npm run bench -- listas`). Only answers enter the first index, only incoming messages the second.
CREATE INDEX client_messages_reply_idx ON client_messages (responde_a) WHERE responde_a IS NOT NULL;
CREATE INDEX client_messages_inbox_idx ON client_messages (created_at DESC, id DESC) WHERE direccion = 'entrante';
