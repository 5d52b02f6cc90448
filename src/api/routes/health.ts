import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorMessage } from '../../errors';
import type { ServiceDependencies } from '../../service/batch-exports';
import { taskQueueHealth } from '../../health/task-queues';
import { zodApp } from './common';

/** A health check must answer fast even when a dependency hangs. */
const CHECK_TIMEOUT_MS = 3_000;

const Health = z.object({
  status: z.enum(['ok', 'unavailable']),
  postgres: z.string(),
  temporal: z.string(),
  task_queues: z
    .record(
      z.string(),
      z.object({
        last_completed_run_age_seconds: z.number().int().nullable(),
        workflow_pollers: z.number().int().nullable(),
      }),
    )
    .describe("The deployment's task queue: seconds since a run last completed there, and the workers polling it."),
});

/** GET /health: 200 when Postgres and Temporal both answer, 503 saying which one does not. */
export function healthRoutes(deps: ServiceDependencies) {
  return async (fastify: FastifyInstance) => {
    zodApp(fastify).get('/health', {
      // Probes poll it: they must not use up anyone's allowance, nor be refused.
      config: { rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'Whether the API reaches Postgres and Temporal',
        security: [],
        response: { 200: Health, 503: Health },
      },
      handler: async (_request, reply) => {
        const taskQueue = deps.config.temporal.taskQueue;
        const [postgres, temporal, queue] = await Promise.all([
          check(() => deps.pool.query('SELECT 1')),
          check(() =>
            deps.temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
              deps.temporal.workflowService.getSystemInfo({}),
            ),
          ),
          taskQueueHealth(deps, taskQueue, new Date(), CHECK_TIMEOUT_MS).catch(() => null),
        ]);
        const ok = postgres === 'ok' && temporal === 'ok';
        const task_queues = queue ? { [taskQueue]: queue } : {};
        return reply
          .status(ok ? 200 : 503)
          .send({ status: ok ? 'ok' : 'unavailable', postgres, temporal, task_queues });
      },
    });
  };
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), CHECK_TIMEOUT_MS).unref()),
    ]);
    return 'ok';
  } catch (error) {
    return `unavailable: ${errorMessage(error)}`;
  }
}
