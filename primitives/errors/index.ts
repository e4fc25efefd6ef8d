export { AccordError, toAccordError, type ErrorParams } from './accord-error.js';
export { registry, isErrorCode, type ErrorCode } from './registry.js';
export { GrpcCode } from './define.js';
