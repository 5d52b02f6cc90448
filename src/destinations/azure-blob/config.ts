import { z } from 'zod';
import { refineCompression, S3Compression, S3FileFormat } from '../s3/config';

/** Config fields that are write-only: encrypted at rest, never returned or logged. */
export const AZURE_SECRET_FIELDS = ['connection_string', 'account_key', 'sas_token'] as const;

/** Where the secrets are sent: changing one of these requires sending the secrets again. */
export const AZURE_ENDPOINT_FIELDS = ['account_name', 'container_name', 'endpoint_url'] as const;

/** The credentials, one of: a connection string; an account name and key; a SAS token (with the account or endpoint). */
const CREDENTIAL_FIELDS = ['connection_string', 'account_key', 'sas_token'] as const;

export const AzureBlobDestinationConfig = z
  .strictObject({
    /** The storage account; the blob endpoint is https://<account_name>.blob.core.windows.net unless endpoint_url. */
    account_name: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, 'A storage account name is 3 to 24 lowercase letters and digits')
      .nullish(),
    container_name: z
      .string()
      .regex(
        /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
        'A container name is 3 to 63 lowercase letters, digits and single hyphens, starting with a letter or digit',
      ),
    prefix: z.string().max(1024).default(''),
    connection_string: z.string().min(1).optional(),
    account_key: z.string().min(1).optional(),
    sas_token: z.string().min(1).optional(),
    /** The blob service endpoint, for Azurite or a sovereign cloud: http://127.0.0.1:10000/devstoreaccount1. */
    endpoint_url: z.url({ protocol: /^https?$/ }).nullish(),
    compression: S3Compression.nullish().transform((value) => value ?? null),
    file_format: S3FileFormat.default('JSONLines'),
    max_file_size_mb: z.number().int().positive().max(5_000_000).nullish(),
    include_events: z.array(z.string().min(1)).nullish(),
    exclude_events: z.array(z.string().min(1)).nullish(),
  })
  .superRefine((config, ctx) => {
    refineCompression(config, ctx);
    const given = CREDENTIAL_FIELDS.filter((field) => config[field] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] ?? 'connection_string'],
        message: 'Give exactly one of connection_string, account_key (with account_name) or sas_token',
      });
      return;
    }
    if (config.connection_string !== undefined) {
      for (const field of ['account_name', 'endpoint_url'] as const) {
        if (config[field]) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `${field} comes from the connection string: leave it out`,
          });
        }
      }
      const problem = connectionStringProblem(config.connection_string);
      if (problem) ctx.addIssue({ code: 'custom', path: ['connection_string'], message: problem });
    } else if (config.account_key !== undefined && !config.account_name) {
      ctx.addIssue({ code: 'custom', path: ['account_name'], message: 'account_key requires account_name' });
    } else if (config.sas_token !== undefined && !config.account_name && !config.endpoint_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['account_name'],
        message: 'sas_token requires account_name or endpoint_url',
      });
    }
  });
export type AzureBlobDestinationConfig = z.infer<typeof AzureBlobDestinationConfig>;

/** The settings of a connection string (`Name=value;...`, a value may hold `=`), by name. */
export function parseConnectionString(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const pair of text.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0) settings.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return settings;
}

/**
 * Why a connection string cannot be used, in words that never quote it (it holds the key); null when it can. It
 * needs the account and a key or a SAS, or a blob endpoint and a SAS.
 */
function connectionStringProblem(text: string): string | null {
  const settings = parseConnectionString(text);
  if (settings.get('UseDevelopmentStorage') === 'true') return null;
  const hasKey = settings.has('AccountKey');
  const hasSas = settings.has('SharedAccessSignature');
  if (!hasKey && !hasSas) return 'The connection string has neither AccountKey nor SharedAccessSignature';
  if (hasKey && !settings.has('AccountName')) return 'The connection string has an AccountKey but no AccountName';
  if (!settings.has('AccountName') && !settings.has('BlobEndpoint')) {
    return 'The connection string has neither AccountName nor BlobEndpoint';
  }
  const endpoint = settings.get('BlobEndpoint');
  if (endpoint && !/^https?:\/\/[^/]/.test(endpoint))
    return "The connection string's BlobEndpoint is not an http(s) URL";
  return null;
}
