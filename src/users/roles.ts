/** Staff roles, from most to least power. */
export const ROLES = ['admin', 'operador', 'lectura'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'administrador',
  operador: 'operador',
  lectura: 'solo lectura',
};
