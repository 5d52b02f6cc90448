import { z } from 'zod';
import { getDestinationConfigWithSecrets } from '../db/batch-exports';
import type { DestinationAccess } from '../config';
import { DESTINATIONS, isSupportedDestination, type DestinationTestStep, type DestinationType } from '../destinations';
import { errorMessage, ValidationError } from '../errors';
import { requireBatchExport, type ServiceDependencies } from './batch-exports';
import { checkDestinationAccess, mergeDestinationConfig } from './destination-access';
import { DestinationInput } from './schemas';
import { parseOrThrow } from './validation';

/** A step gives up after this long: a firewalled endpoint must not hang the request. */
const STEP_TIMEOUT_MS = 15_000;

export interface TestStepResult {
  name: string;
  description: string;
  result: { status: 'Passed' | 'Failed'; message: string | null };
}

/** The body of run_test_step_new: a batch export (only its destination matters) and the step to run. */
export const TestStepInput = z.looseObject({
  step: z.number().int().min(0),
  destination: DestinationInput,
});

/** The body of run_test_step on a saved export: config fields to try instead of the stored ones. */
export const SavedTestStepInput = z.looseObject({
  step: z.number().int().min(0),
  destination: z.looseObject({ config: z.record(z.string(), z.unknown()).default({}) }).optional(),
});

/** The steps of a destination type, without running them. */
export function listTestSteps(type: string): Array<Pick<DestinationTestStep, 'name' | 'description'>> {
  return stepsOf(type, 'destination').map(({ name, description }) => ({ name, description }));
}

/**
 * Runs one step against a config given whole (secrets included). A failing check is a result, not an error; a
 * destination the service will not connect to is a 400, and nothing is dialled.
 */
export async function runTestStep(
  deps: { config: Pick<ServiceDependencies['config'], 'destinationAccess'> },
  body: unknown,
): Promise<TestStepResult> {
  const input = parseOrThrow(TestStepInput, body);
  return runStep(deps.config.destinationAccess, input.destination.type, input.destination.config, input.step);
}

/**
 * Runs one step against a saved export's destination, with the body's config fields laid over the stored ones. The
 * stored secrets are used only where they were given for (see mergeDestinationConfig).
 */
export async function runSavedTestStep(
  deps: ServiceDependencies,
  teamIds: number[],
  id: string,
  body: unknown,
): Promise<TestStepResult> {
  const input = parseOrThrow(SavedTestStepInput, body);
  await requireBatchExport(deps.pool, id, teamIds);
  const stored = (await getDestinationConfigWithSecrets(deps.pool, deps.config.encryptionKey, id))!;
  const type = stored.type as DestinationType; // validated when it was saved
  const config = mergeDestinationConfig(type, stored.config, input.destination?.config ?? {}, { replace: false });
  return runStep(deps.config.destinationAccess, type, config, input.step);
}

async function runStep(
  access: DestinationAccess,
  type: string,
  rawConfig: Record<string, unknown>,
  index: number,
): Promise<TestStepResult> {
  const steps = stepsOf(type, 'destination.type');
  const step = steps[index];
  if (!step) throw new ValidationError(`There are ${steps.length} steps: step must be below ${steps.length}`, 'step');
  const { config } = parseOrThrow(
    z.object({ destination: z.object({ config: DESTINATIONS[type as DestinationType].configSchema }) }),
    { destination: { config: rawConfig } },
  ).destination;
  await checkDestinationAccess(type as DestinationType, config, access);
  const summary = { name: step.name, description: step.description };
  const signal = AbortSignal.timeout(STEP_TIMEOUT_MS);
  try {
    await step.run(config, { signal, access });
    return { ...summary, result: { status: 'Passed', message: null } };
  } catch (error) {
    const message = signal.aborted
      ? `No answer within ${STEP_TIMEOUT_MS / 1000} seconds: is the destination reachable from here?`
      : errorMessage(error);
    return { ...summary, result: { status: 'Failed', message } };
  }
}

function stepsOf(type: string, attr: string): readonly DestinationTestStep[] {
  if (!isSupportedDestination(type)) {
    throw new ValidationError(
      `Destination type "${type}" is not supported: use one of ${Object.keys(DESTINATIONS).join(', ')}`,
      attr,
      'unsupported_destination',
    );
  }
  return DESTINATIONS[type].testSteps;
}
