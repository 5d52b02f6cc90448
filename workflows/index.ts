// Every workflow the worker registers, under the type names schedules and backfills start.
export { exportWorkflow as 'batch-export' } from './export';
export { backfillBatchExportWorkflow as 'backfill-batch-export' } from './backfill';
export { notificationDeliveryWorkflow as 'notification-delivery' } from './notification-delivery';
// Earlier per-destination export workflow types, kept for existing schedules and running histories.
export { s3ExportWorkflow as 's3-export' } from './export';
export { postgresExportWorkflow as 'postgres-export' } from './export';
export { noOpExportWorkflow as 'noop-export' } from './export';
