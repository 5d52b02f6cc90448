import { S3ServiceException } from '@aws-sdk/client-s3';
import { BatchExportError, isTransientNetworkError, type ErrorKind } from '../../errors';
import { unreachedOrUnknown } from '../object-storage/errors';

/** What the user should change, by S3 error code; codes not listed here are classified by HTTP status. */
const CONFIGURATION_ERRORS: Record<string, { kind: ErrorKind; hint: string }> = {
  NoSuchBucket: { kind: 'configuration', hint: 'The bucket does not exist: check bucket_name (and region)' },
  InvalidAccessKeyId: { kind: 'configuration', hint: 'The AWS access key id does not exist: check aws_access_key_id' },
  SignatureDoesNotMatch: {
    kind: 'configuration',
    hint: 'The AWS secret access key is wrong: check aws_secret_access_key',
  },
  AuthorizationHeaderMalformed: { kind: 'configuration', hint: 'The request was rejected: check region' },
  PermanentRedirect: { kind: 'configuration', hint: 'The bucket is in another region: check region' },
  IllegalLocationConstraintException: { kind: 'configuration', hint: 'The bucket is in another region: check region' },
  InvalidBucketName: { kind: 'configuration', hint: 'The bucket name is not valid: check bucket_name' },
  KMS_NotFoundException: { kind: 'configuration', hint: 'The KMS key does not exist: check kms_key_id' },
  InvalidArgument: { kind: 'configuration', hint: 'S3 rejected an argument: check encryption and kms_key_id' },
  AccessDenied: {
    kind: 'permission',
    hint: 'Access denied: the credentials need s3:PutObject, s3:AbortMultipartUpload and s3:ListMultipartUploadParts on the bucket',
  },
  AllAccessDisabled: { kind: 'permission', hint: 'All access to this bucket has been disabled' },
  KMS_AccessDeniedException: { kind: 'permission', hint: 'The credentials may not use the KMS key: check kms_key_id' },
};

/** Maps an S3 client error to a BatchExportError whose message tells the user what to fix. */
export function classifyS3Error(error: unknown, context: { bucket: string; key?: string }): BatchExportError {
  if (error instanceof BatchExportError) return error;
  const where = `bucket "${context.bucket}"${context.key ? `, key "${context.key}"` : ''}`;
  if (error instanceof S3ServiceException) {
    const known = CONFIGURATION_ERRORS[error.name];
    if (known) {
      return new BatchExportError(`${known.hint} (${error.name} on ${where})`, {
        kind: known.kind,
        cause: error,
        context,
      });
    }
    const status = error.$metadata?.httpStatusCode ?? 0;
    const kind: ErrorKind = status >= 500 || status === 429 || error.name === 'SlowDown' ? 'transient' : 'unknown';
    return new BatchExportError(`S3 error ${error.name} (HTTP ${status}) on ${where}: ${error.message}`, {
      kind,
      cause: error,
      context,
    });
  }
  return unreachedOrUnknown(error, { service: 'S3', where, unreachable: isTransientNetworkError(error), context });
}
