-- The clients' search key (teltec_fold, 008) stored with the row: the list's search compared
-- teltec_fold(nombre) computed for every client, twice per page (the page and its count): 1.4 s
-- over 100,000 clients on PGlite, the embedded database answering nothing else meanwhile. Read
-- from the row, the same search takes a few tens of milliseconds. Every writer keeps it by
-- construction (a generated column). As with nombre_orden (029): teltec_fold MUST NOT be
-- replaced in place from now on; a new fold is a new column.
ALTER TABLE clients
  ADD COLUMN nombre_busqueda text GENERATED ALWAYS AS (teltec_fold(nombre)) STORED;
