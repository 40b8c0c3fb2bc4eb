import { staffRoles } from '../vocabulary.js';

/** Staff roles, from most to least power (values and labels: src/vocabulary.ts). */
export const ROLES = staffRoles.values;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = staffRoles.labels;
