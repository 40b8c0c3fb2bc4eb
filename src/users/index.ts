export {
  createFirstAdmin,
  createUser,
  issueSetupCode,
  needsSetup,
  signIn,
  updateUser,
} from './accounts.js';
export {
  type ApiTokenRow,
  createApiTokenStore,
  createSessionStore,
  createSignInLimiter,
  type SessionInfo,
  SIGN_IN_LIMIT,
  sameSecret,
  TOKEN_PREFIX,
} from './credentials.js';
export { hashPassword, MIN_PASSWORD_LENGTH, passwordProblem, verifyPassword } from './passwords.js';
export { createUsersRepository, type User } from './repository.js';
export { ROLE_LABELS, ROLES, type Role } from './roles.js';
