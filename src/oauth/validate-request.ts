import { validateSync } from 'class-validator';
import { InvalidRequest } from './oauth-error.js';

/**
 * Validates a grant's parameter object (class-validator decorators) and throws the OAuth error the first
 * failed check calls for: the class named in the decorator's `context.error`, else invalid_request.
 */
export function validateRequest<T extends object>(request: T): T {
  const [error] = validateSync(request, { stopAtFirstError: true });
  if (error) {
    const [constraint, message] = Object.entries(error.constraints ?? {})[0] ?? ['', 'invalid request'];
    const ErrorClass =
      (error.contexts?.[constraint] as { error?: typeof InvalidRequest } | undefined)?.error ?? InvalidRequest;
    throw new ErrorClass(message);
  }
  return request;
}
