import type { Client } from '@temporalio/client';

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

/**
 * Where a workflow's time goes, from its Temporal history: per phase (workflow task waiting for / running on a worker,
 * each activity type waiting for / running on a worker), mean milliseconds over the workflows given. Also what each
 * workflow costs on the server, as a Temporal Cloud bill counts it (means too): its history events, workflow tasks,
 * activity tasks (attempts) and local activities (markers).
 */
export async function profileWorkflows(
  client: Client,
  workflowIds: string[],
  /** With a time (a schedule's tick), also how long after it each workflow started. */
  since?: Date,
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const workflowId of workflowIds) {
    const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
    const found = phases(events ?? []);
    if (since && events?.length) found['started after the tick'] = eventMs(events[0]!) - since.getTime();
    for (const [phase, ms] of Object.entries(found)) totals[phase] = (totals[phase] ?? 0) + ms;
  }
  return Object.fromEntries(
    Object.entries(totals).map(([phase, ms]) => {
      const each = ms / Math.max(1, workflowIds.length);
      return [phase, phase.startsWith('count:') ? Number(each.toFixed(1)) : Math.round(each)];
    }),
  );
}

/**
 * The backfill's side of each interval, from its workflow's latest run: the parent's reaction (a child completed ->
 * the next child's start requested) and the server's start of a child (requested -> started). Mean milliseconds.
 */
export async function profileBackfillParent(client: Client, workflowId: string): Promise<Record<string, number>> {
  const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
  const initiated = new Map<number, number>();
  const reactions: number[] = [];
  const starts: number[] = [];
  let lastCompleted: number | null = null;
  for (const event of events ?? []) {
    const at = eventMs(event);
    if (event.childWorkflowExecutionCompletedEventAttributes) lastCompleted = at;
    if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      initiated.set(Number(event.eventId), at);
      if (lastCompleted !== null) reactions.push(at - lastCompleted);
      lastCompleted = null;
    }
    const started = event.childWorkflowExecutionStartedEventAttributes;
    if (started) starts.push(at - (initiated.get(Number(started.initiatedEventId)) ?? at));
  }
  const children = (events ?? []).filter((event) => event.childWorkflowExecutionCompletedEventAttributes).length;
  const perChild = (count: number) => Number((count / Math.max(1, children)).toFixed(1));
  return {
    'parent: child completed -> next start requested': mean(reactions),
    'parent: start requested -> child started': mean(starts),
    // The latest workflow run's events and workflow tasks over the intervals it ran.
    'parent count: history events per interval': perChild(events?.length ?? 0),
    'parent count: workflow tasks per interval': perChild(
      (events ?? []).filter((event) => event.workflowTaskStartedEventAttributes).length,
    ),
  };
}

function phases(events: HistoryEvent[]): Record<string, number> {
  const result: Record<string, number> = {
    'count: history events': events.length,
    'count: workflow tasks': events.filter((event) => event.workflowTaskStartedEventAttributes).length,
    'count: activity tasks': events.filter((event) => event.activityTaskStartedEventAttributes).length,
    'count: local activities': events.filter(
      (event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    ).length,
  };
  const add = (phase: string, ms: number) => (result[phase] = (result[phase] ?? 0) + ms);
  const byId = new Map<number, HistoryEvent>();
  for (const event of events) {
    byId.set(Number(event.eventId), event);
    const at = eventMs(event);
    const since = (id: unknown) => at - eventMs(byId.get(Number(id))!);
    if (event.workflowTaskStartedEventAttributes) {
      add('workflow tasks: waiting', since(event.workflowTaskStartedEventAttributes.scheduledEventId));
    } else if (event.workflowTaskCompletedEventAttributes) {
      add('workflow tasks: running', since(event.workflowTaskCompletedEventAttributes.startedEventId));
    } else if (event.activityTaskStartedEventAttributes) {
      const scheduled = byId.get(Number(event.activityTaskStartedEventAttributes.scheduledEventId))!;
      add(`${activityName(scheduled)}: waiting`, since(scheduled.eventId));
    } else if (event.activityTaskCompletedEventAttributes) {
      const scheduled = byId.get(Number(event.activityTaskCompletedEventAttributes.scheduledEventId))!;
      add(`${activityName(scheduled)}: running`, since(event.activityTaskCompletedEventAttributes.startedEventId));
    }
  }
  if (events.length > 1) add('total', eventMs(events[events.length - 1]!) - eventMs(events[0]!));
  return result;
}

function activityName(scheduled: HistoryEvent): string {
  return scheduled.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity';
}

function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;
}

function mean(values: number[]): number {
  return values.length ? Math.round(values.reduce((sum, value) => sum + value, 0) / values.length) : 0;
}
