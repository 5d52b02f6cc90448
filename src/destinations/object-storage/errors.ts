import { BatchExportError } from '../../errors';

/**
 * The last word on an object store's error that carries no status: a network failure the store could not be reached
 * through (retried), or anything else (`unknown`, retried too, with its message).
 */
export function unreachedOrUnknown(
  error: unknown,
  options: { service: string; where: string; unreachable: boolean; context: Record<string, unknown> },
): BatchExportError {
  const { service, where, unreachable, context } = options;
  if (unreachable) {
    return new BatchExportError(`Could not reach ${service} for ${where}: ${(error as Error).message}`, {
      kind: 'transient',
      cause: error,
      context,
    });
  }
  return new BatchExportError(`Export to ${where} failed: ${(error as Error)?.message ?? String(error)}`, {
    kind: 'unknown',
    cause: error,
    context,
  });
}
