-- The clients' name order (teltec_sort_key, 008) stored with the row (issue 16 §2): the list and
-- the CSV export read clients in index order without computing the key for every row; every
-- writer keeps it by construction (a generated column). Compared with COLLATE "C", as before:
-- staff see the same order ("Nuñez" < "Nuño" < "Ñacato" < "Oña", then by id).
-- teltec_sort_key MUST NOT be replaced in place from now on: stored keys would keep the old
-- order. A new key is a new column (drop this one and add it again, which recomputes every row).
ALTER TABLE clients
  ADD COLUMN nombre_orden text COLLATE "C" GENERATED ALWAYS AS (teltec_sort_key(nombre)) STORED;

CREATE INDEX clients_nombre_orden_idx ON clients (nombre_orden, id);

-- 008's expression index served the same order; nothing reads it any more.
DROP INDEX clients_sort_idx;
