// Every workflow the worker registers, under the type names schedules and backfills start.
export { s3ExportWorkflow as 's3-export' } from './s3-export';
export { backfillBatchExportWorkflow as 'backfill-batch-export' } from './backfill';
export { postgresExportWorkflow as 'postgres-export' } from './postgres-export';
export { noOpExportWorkflow as 'noop-export' } from './noop-export';
export { notificationDeliveryWorkflow as 'notification-delivery' } from './notification-delivery';
