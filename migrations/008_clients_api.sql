-- Clients API (issue 9, issue 12 §11): accent-insensitive search and Spanish name order on both
-- databases, voided payments, and a record of every CSV import.

-- Folds a text for searching: accents and case ignored, ñ found by n ("Nacato" finds "Ñacato").
-- translate() first: under the C collation lower() only lowers ASCII.
CREATE FUNCTION teltec_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT lower(translate(t, 'ÁÉÍÓÚÜÀÈÌÒÙÂÊÎÔÛÄËÏÖÇÑáéíóúüàèìòùâêîôûäëïöçñ',
                            'aeiouuaeiouaeiouaeiocnaeiouuaeiouaeiouaeiocn'))
$$;

-- A sort key in Spanish order, compared with COLLATE "C": accents and case ignored, ñ a letter of
-- its own right after n ("Nuñez" < "Nuño" < "Ñacato" < "Oña").
CREATE FUNCTION teltec_sort_key(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT replace(lower(translate(t, 'ÁÉÍÓÚÜÀÈÌÒÙÂÊÎÔÛÄËÏÖÇÑáéíóúüàèìòùâêîôûäëïöç',
                                    'aeiouuaeiouaeiouaeiocñaeiouuaeiouaeiouaeioc')), 'ñ', 'n~')
$$;

-- The clients list and the export walk clients in this order (keyset pagination).
CREATE INDEX clients_sort_idx ON clients ((teltec_sort_key(nombre) COLLATE "C"), id);

-- A voided payment stays on record (who, when, why); it no longer counts for the due date.
ALTER TABLE payments
  ADD COLUMN fecha_anterior date,
  ADD COLUMN anulado_en timestamptz,
  ADD COLUMN anulado_por text,
  ADD COLUMN anulado_motivo text;

-- Every CSV import, written before the work starts in its own transaction, so an import killed
-- half-way leaves a trace (`en_curso` that never finished) that staff see.
CREATE TABLE client_imports (
  id            serial PRIMARY KEY,
  estado        text NOT NULL DEFAULT 'en_curso' CHECK (estado IN ('en_curso', 'terminada', 'fallida')),
  actor         text,
  codificacion  text,
  bytes         integer NOT NULL DEFAULT 0,
  lineas        integer,
  creados       integer,
  actualizados  integer,
  errores       integer,
  motivo        text,
  iniciada_en   timestamptz NOT NULL,
  terminada_en  timestamptz
);
CREATE INDEX client_imports_started_idx ON client_imports (iniciada_en DESC);
