import type { DestinationAccess } from '../../config';
import { openSqlCatalog, type Catalog } from './catalog';
import type { S3IcebergDestinationConfig } from './config';
import { openGlueCatalog } from './glue-catalog';

/** The catalog the config names. */
export function openCatalog(config: S3IcebergDestinationConfig, access: DestinationAccess): Promise<Catalog> {
  return config.catalog_type === 'glue' ? openGlueCatalog(config, access) : openSqlCatalog(config, access);
}
