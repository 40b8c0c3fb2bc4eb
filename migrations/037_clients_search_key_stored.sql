-- The clients' search key (teltec_fold, 008) stored with the row: the list's search computed
-- teltec_fold(nombre) for every client, 0.7 s a page over 100,000 clients on PGlite (1.4 s once
-- the page and its count are read apart), the embedded database answering nothing else
-- meanwhile. Read from the row, the same page takes 85-140 ms. Every writer keeps it by
-- construction (a generated column). As with nombre_orden (029): teltec_fold MUST NOT be
-- replaced in place from now on; a new fold is a new column.
ALTER TABLE clients
  ADD COLUMN nombre_busqueda text GENERATED ALWAYS AS (teltec_fold(nombre)) STORED;
