import { BatchExportError, isTransientNetworkError, type ErrorKind } from '../../errors';
import { unreachedOrUnknown } from '../object-storage/errors';

const CREDENTIALS_HINT =
  'Azure rejected the credentials: check connection_string, account_key or sas_token (and that a SAS token has not expired)';
const PERMISSION_HINT =
  'Access denied: the credentials need read, add, create, write, list and delete permissions on the container';

/** What the user should change, by Azure Storage error code; codes not listed here are classified by HTTP status. */
const CONFIGURATION_ERRORS: Record<string, { kind: ErrorKind; hint: string }> = {
  ContainerNotFound: { kind: 'configuration', hint: 'The container does not exist: check container_name' },
  AuthenticationFailed: { kind: 'configuration', hint: CREDENTIALS_HINT },
  InvalidAuthenticationInfo: { kind: 'configuration', hint: CREDENTIALS_HINT },
  NoAuthenticationInformation: { kind: 'configuration', hint: CREDENTIALS_HINT },
  ResourceNotFound: {
    kind: 'configuration',
    hint: 'The storage account was not found: check account_name or endpoint_url',
  },
  AccountIsDisabled: { kind: 'configuration', hint: 'The storage account is disabled' },
  InvalidResourceName: { kind: 'configuration', hint: 'The container name is not valid: check container_name' },
  // Azure answers this when the network rules or a SAS token's scope refuse the request; Azurite when the key is wrong.
  AuthorizationFailure: {
    kind: 'configuration',
    hint:
      'Azure refused the request: check connection_string, account_key or sas_token, that a SAS token allows read, ' +
      "write, list and delete on the container, and the account's network rules",
  },
  AuthorizationPermissionMismatch: { kind: 'permission', hint: PERMISSION_HINT },
  AuthorizationResourceTypeMismatch: { kind: 'permission', hint: PERMISSION_HINT },
  AuthorizationServiceMismatch: { kind: 'permission', hint: PERMISSION_HINT },
  AuthorizationSourceIPMismatch: {
    kind: 'permission',
    hint: 'Access denied: the SAS token does not allow this address',
  },
  AuthorizationProtocolMismatch: {
    kind: 'permission',
    hint: 'Access denied: the SAS token does not allow this protocol',
  },
  InsufficientAccountPermissions: { kind: 'permission', hint: PERMISSION_HINT },
};

/** What the SDK's RestError carries; recognised by name as its own `isRestError` does, so the SDK loads on first use. */
interface RestErrorLike extends Error {
  code?: string;
  statusCode?: number;
  details?: unknown;
}

/** The code the SDK gives a request that was never answered (RestError.REQUEST_SEND_ERROR). */
const REQUEST_SEND_ERROR = 'REQUEST_SEND_ERROR';

function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/** The error code Azure Storage answered with (x-ms-error-code), if any. */
export function azureErrorCode(error: unknown): string | undefined {
  if (!isRestError(error)) return undefined;
  const details = error.details as { errorCode?: string } | undefined;
  return details?.errorCode ?? (typeof error.code === 'string' ? error.code : undefined);
}

/** Maps an Azure Storage client error to a BatchExportError whose message tells the user what to fix. */
export function classifyAzureError(error: unknown, context: { container: string; key?: string }): BatchExportError {
  if (error instanceof BatchExportError) return error;
  const where = `container "${context.container}"${context.key ? `, blob "${context.key}"` : ''}`;
  if (isRestError(error) && error.statusCode) {
    const code = azureErrorCode(error) ?? 'Error';
    const known = CONFIGURATION_ERRORS[code];
    if (known)
      return new BatchExportError(`${known.hint} (${code} on ${where})`, { kind: known.kind, cause: error, context });
    // An answer without an error code: HEAD requests carry no body, so the status is all there is.
    if (error.statusCode === 403) {
      return new BatchExportError(`${CREDENTIALS_HINT} (HTTP 403 on ${where})`, {
        kind: 'configuration',
        cause: error,
        context,
      });
    }
    const status = error.statusCode;
    const kind: ErrorKind = status >= 500 || status === 429 || status === 408 ? 'transient' : 'unknown';
    return new BatchExportError(
      `Azure Storage error ${code} (HTTP ${status}) on ${where}: ${firstLine(error.message)}`,
      {
        kind,
        cause: error,
        context,
      },
    );
  }
  const unreachable =
    isTransientNetworkError(error) || (isRestError(error) && error.code === REQUEST_SEND_ERROR);
  return unreachedOrUnknown(error, { service: 'Azure Blob Storage', where, unreachable, context });
}

/** Azure's messages run on with a request id and a time on further lines. */
function firstLine(message: string): string {
  return message.split('\n')[0]!;
}
