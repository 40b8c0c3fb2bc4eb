/** PostgreSQL type OIDs whose text form we parse the same way on PGlite and on `pg`. */
export const OID = {
  INT8: 20,
  NUMERIC: 1700,
  DATE: 1082,
} as const;

const toNumber = (v: string) => Number(v);
const asIs = (v: string) => v;

/** int8 and numeric as JS numbers (ids and money here stay far below 2^53); dates as 'YYYY-MM-DD'. */
export const sharedParsers: Record<number, (value: string) => unknown> = {
  [OID.INT8]: toNumber,
  [OID.NUMERIC]: toNumber,
  [OID.DATE]: asIs,
};
