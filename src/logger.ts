import pino from 'pino';

/** Structured JSON logs. Secrets never reach a log line: destination configs are not logged at all. */
export function createLogger(level: string = 'info') {
  return pino({ level, base: { service: 'batch-exports' }, timestamp: pino.stdTimeFunctions.isoTime });
}
