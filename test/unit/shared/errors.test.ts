import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConfigurationError,
  ContentionError,
  ForbiddenError,
  NotFoundError,
  ParleyError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
} from '../../../lambdas/shared/errors.js';

describe('Shared: errors', () => {
  it.each([
    [new BadRequestError('m'), 'BadRequestError', 'bad_request'],
    [new UnauthorizedError('m'), 'UnauthorizedError', 'unauthorized'],
    [new ForbiddenError('m'), 'ForbiddenError', 'forbidden'],
    [new NotFoundError('m'), 'NotFoundError', 'not_found'],
    [new PayloadTooLargeError('m'), 'PayloadTooLargeError', 'payload_too_large'],
    [new RateLimitedError('m'), 'RateLimitedError', 'rate_limited'],
    [new ContentionError('m'), 'ContentionError', 'rate_limited'],
    [new ConfigurationError('m'), 'ConfigurationError', 'internal'],
  ])('%o carries its name and protocol code', (error, name, code) => {
    // Assess
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.message).toBe('m');
  });
});
