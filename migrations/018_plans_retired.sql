-- A plan can be retired (issue 14 §7): its clients keep it, nobody new is put on it, and it stays
-- in the list (marked) so history and prices remain readable. NULL = on sale.
ALTER TABLE plans ADD COLUMN retirado_at timestamptz;
