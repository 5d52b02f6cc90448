import type { S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { parseInterval } from '../../src/intervals';
import { buildServer } from '../../src/api/server';
import { createApiKey, type ApiKeyScope } from '../../src/db/api-keys';
import { createOrganization, createProject } from '../../src/db/organizations';
import { createBucket, testS3Client, testS3Destination } from '../helpers/s3';
import { checkResponsesAgainstSchema } from './conformance';
import { startTestStack, type TestStack } from '../helpers/stack';

/** The API on a real stack (its own database, Temporal, moto), an organization with one project and a key. */
export interface ApiTest {
  stack: TestStack;
  app: FastifyInstance;
  s3: S3Client;
  organizationId: string;
  teamId: number;
  /** A read/write key for the whole organization. */
  key: string;
  /** Sends a request with `key` (or the given one; null for none) and returns status and parsed JSON body. */
  call(method: InjectOptions['method'], url: string, options?: CallOptions): Promise<ApiResponse>;
  /** A new key of this organization. */
  newKey(options?: { scopes?: ApiKeyScope[]; projects?: number[] | null; organizationId?: string }): Promise<string>;
  /** Creates an S3 export in the project through the API (201 asserted) and returns the response body. */
  createExport(body?: Record<string, unknown>): Promise<ApiResponse['body']>;
  /** A valid S3 destination for a new bucket in moto. */
  s3Destination(extra?: Record<string, unknown>): Promise<{ type: 'S3'; config: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export interface CallOptions {
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
  /** A raw payload, sent as is (for malformed JSON and the like). */
  payload?: string | Buffer;
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever the API answered
  body: any;
  text: string;
}

/** The API's public URL in tests: pagination links start with it. */
export const PUBLIC_URL = 'http://api.test';

/** `env`: configuration variables for this file's stack (e.g. backfill settings), as the environment gives them. */
export async function startApiTest(options: { worker?: boolean; env?: Record<string, string> } = {}): Promise<ApiTest> {
  const stack = await startTestStack({ worker: options.worker ?? false, env: options.env });
  // Links under a public URL, as tests read them with new URL(); no rate limit (test/api/request-limits.test.ts has one).
  const app = await buildServer({ deps: stack.services, http: { publicUrl: PUBLIC_URL } });
  // Every response, through call() or app.inject, must match the served OpenAPI document.
  const conformance = checkResponsesAgainstSchema(app);
  const expectConformance = () =>
    expect(conformance.takeMismatches(), 'responses not as the OpenAPI document says').toEqual([]);
  const s3 = testS3Client(stack.s3Endpoint);
  const organization = await createOrganization(stack.db.pool, 'Test organization');
  const project = await createProject(stack.db.pool, organization.id, 'Test project');
  const newKey: ApiTest['newKey'] = async (keyOptions = {}) =>
    (
      await createApiKey(stack.db.pool, {
        organizationId: keyOptions.organizationId ?? organization.id,
        userEmail: 'tester@example.com',
        label: 'test',
        scopes: keyOptions.scopes ?? ['batch_export:read', 'batch_export:write'],
        scopedProjectIds: keyOptions.projects ?? null,
      })
    ).key;
  const key = await newKey();

  const api: ApiTest = {
    stack,
    app,
    s3,
    organizationId: organization.id,
    teamId: project.id,
    key,
    newKey,
    async call(method, url, callOptions = {}) {
      const authKey = callOptions.key === undefined ? key : callOptions.key;
      const headers: Record<string, string> = { ...callOptions.headers };
      if (authKey !== null) headers.authorization = `Bearer ${authKey}`;
      const response = await app.inject({
        method,
        url,
        headers,
        ...(callOptions.payload !== undefined
          ? { payload: callOptions.payload }
          : callOptions.body !== undefined
            ? { payload: callOptions.body as object }
            : {}),
      });
      const text = response.body;
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      expectConformance();
      return { status: response.statusCode, body, text };
    },
    async createExport(body = {}) {
      const response = await api.call('POST', `/api/projects/${project.id}/batch_exports`, {
        body: { name: 'test export', destination: await api.s3Destination(), ...body },
      });
      expect(response.status, response.text).toBe(201);
      return response.body;
    },
    async s3Destination(extra = {}) {
      return testS3Destination(stack.s3Endpoint, await createBucket(s3), extra);
    },
    async stop() {
      // Responses of app.inject calls made directly by the test.
      expectConformance();
      await app.close();
      s3.destroy();
      await stack.stop();
    },
  };
  return api;
}

/** The Temporal schedule of an export, as Temporal describes it. */
export async function describeSchedule(api: ApiTest, id: string) {
  return api.stack.temporal.schedule.getHandle(id).describe();
}

const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/** Asserts that the export's Temporal schedule says what the API returned: when it fires, paused, bounds, inputs. */
export async function expectScheduleToMatch(
  api: ApiTest,
  batchExport: {
    id: string;
    interval: string;
    timezone: string;
    paused: boolean;
    offset_day: number | null;
    offset_hour: number | null;
    start_at: string | null;
    end_at: string | null;
  },
) {
  const schedule = await describeSchedule(api, batchExport.id);
  const definition = parseInterval(batchExport.interval);
  expect(schedule.state.paused).toBe(batchExport.paused);
  if (definition.kind === 'fixed') {
    expect(schedule.spec.intervals?.map((spec) => spec.every)).toEqual([definition.milliseconds]);
    expect(schedule.spec.calendars ?? []).toEqual([]);
  } else {
    const calendar = schedule.spec.calendars?.[0];
    const hour = batchExport.offset_hour ?? 0;
    expect(calendar?.hour).toEqual([{ start: hour, end: hour, step: 1 }]);
    if (definition.unit === 'week') expect(calendar?.dayOfWeek?.[0]?.start).toBe(DAYS[batchExport.offset_day ?? 0]);
    expect(schedule.spec.timezone).toBe(batchExport.timezone);
    expect(schedule.spec.intervals ?? []).toEqual([]);
  }
  expect(schedule.spec.startAt?.toISOString() ?? null).toBe(batchExport.start_at);
  expect(schedule.spec.endAt?.toISOString() ?? null).toBe(batchExport.end_at);
  const action = schedule.action as { args?: Array<{ interval: string; timezone: string }> };
  expect(action.args?.[0]).toMatchObject({ interval: batchExport.interval, timezone: batchExport.timezone });
  return schedule;
}

/**
 * The API of one test file (see startApiTest), started before its tests and its own beforeAll hooks, stopped after
 * them and its own afterAll hooks: useTestStack (test/helpers/stack.ts) with an API in front.
 */
export function useApiTest(options: Parameters<typeof startApiTest>[0] = {}): ApiTest {
  const api = {} as ApiTest;
  beforeAll(async () => {
    Object.assign(api, await startApiTest(options));
  });
  afterAll(async () => {
    await api.stop?.();
  });
  return api;
}
