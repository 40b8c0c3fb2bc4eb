export { AppError, type ErrorBody, type ErrorCode, errorRegistry, toErrorBody } from './registry.js';
