import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys';
import { createOrganization, createProject } from '../../src/db/organizations';
import { freePort } from '../../src/dev/ports';
import { spawnApiProcess, type ApiProcess } from '../helpers/api-process';
import { laptopPage, launchChromium, screenshot } from '../helpers/browser';
import { insertEvents, makeEvent } from '../helpers/fixtures';
import { createBucket, TEST_CREDENTIALS, testS3Client } from '../helpers/s3';
import { useTestStack } from '../helpers/stack';
import { workerEnv } from '../helpers/worker-process';

const HOUR = 3_600_000;
const EVENTS_PER_HOUR = 4;

/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against the real stack: the API as
 * its own process serving /ui/, a worker, Temporal, moto S3. The tests run in order, as one user's session would,
 * and write a screenshot of each page to docs/console/.
 */
describe('web console', () => {
  const stack = useTestStack();
  let api: ApiProcess;
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  let writeKey: string;
  let readKey: string;
  let projectId: number;
  let bucket: string;
  let exportId: string;
  const s3 = () => testS3Client(stack.s3Endpoint);

  /** The API, called as any client would: for setting up what the browser then shows. */
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}/api/projects/${projectId}/batch_exports${path}`, {
      method,
      headers: { authorization: `Bearer ${writeKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    expect(response.status, text).toBeLessThan(300);
    return text ? JSON.parse(text) : null;
  };

  /** Runs the wizard's test steps and waits for each to finish: their statuses, in order. */
  const testSteps = async () => {
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.locator('.test-step').first().waitFor();
    const unfinished = page.locator('.test-step[data-status="Waiting"], .test-step[data-status="Running"]');
    await expect.poll(() => unfinished.count(), { timeout: 60_000 }).toBe(0);
    return page.locator('.test-step').evaluateAll((steps) => steps.map((step) => step.getAttribute('data-status')));
  };

  beforeAll(async () => {
    const organization = await createOrganization(stack.db.pool, 'Console test');
    projectId = (await createProject(stack.db.pool, organization.id, 'Website')).id;
    const key = (scopes: Array<'batch_export:read' | 'batch_export:write'>) =>
      createApiKey(stack.db.pool, {
        organizationId: organization.id,
        userEmail: scopes.length > 1 ? 'engineer@example.com' : 'viewer@example.com',
        label: 'console test',
        scopes,
        scopedProjectIds: null,
      }).then((created) => created.key);
    writeKey = await key(['batch_export:read', 'batch_export:write']);
    readKey = await key(['batch_export:read']);
    bucket = await createBucket(s3());
    // Events in each of the last ten hours: what the backfills export.
    const now = Date.now();
    const events = [];
    for (let hour = 1; hour <= 10; hour++) {
      for (let i = 0; i < EVENTS_PER_HOUR; i++) {
        events.push(makeEvent(projectId, new Date(now - hour * HOUR + i * 60_000).toISOString()));
      }
    }
    await insertEvents(stack.db.pool, events);

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    api = spawnApiProcess({
      ...workerEnv(stack),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    });
    expect(await api.listening()).toContain('API listening');
    browser = await launchChromium();
    page = await laptopPage(browser);
  });

  afterAll(async () => {
    await browser?.close();
    api?.child.kill('SIGTERM');
    await api?.exited;
  });

  it('signs in with a personal API key kept in session storage, never in the URL', async () => {
    await page.goto(`${baseUrl}/ui`);
    const keyInput = page.getByLabel('Personal API key');
    await keyInput.waitFor();
    await screenshot(page, '1-sign-in');
    await keyInput.fill(writeKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Exports', exact: true }).waitFor();
    const stored = await page.evaluate(() => {
      type Storage = { length: number; key(i: number): string; getItem(key: string): string };
      const storage = (globalThis as unknown as { sessionStorage: Storage }).sessionStorage;
      return Array.from({ length: storage.length }, (_, i) => [storage.key(i), storage.getItem(storage.key(i))]);
    });
    expect(stored).toEqual([['batch-exports-console.api-key', writeKey]]);
    expect(page.url()).not.toContain(writeKey);
    expect(await page.content()).not.toContain(writeKey);
    await page.getByText('No exports yet.').waitFor();
  });

  it('creates an S3 export through the wizard: a failing test step first, then every step passing', async () => {
    await page.getByRole('link', { name: 'New export' }).first().click();
    await page.getByRole('heading', { name: 'New export', exact: true }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Website events');
    await page.getByLabel('Model').selectOption('events');
    await page.getByLabel('Interval').selectOption('hour');
    await page.getByLabel('Bucket').fill(`missing-${bucket}`);
    await page.getByLabel('Endpoint URL').fill(stack.s3Endpoint);
    await page.getByLabel('Access key id').fill(TEST_CREDENTIALS.aws_access_key_id);
    await page.getByLabel('Secret access key').fill(TEST_CREDENTIALS.aws_secret_access_key);
    await page.getByLabel('File format').selectOption('JSONLines');
    await page.getByLabel('Compression').selectOption('gzip');

    // The credentials reach S3, the bucket does not exist: the second step fails and the rest are skipped.
    expect(await testSteps()).toEqual(['Passed', 'Failed', 'Skipped']);
    expect(await page.locator('.test-step[data-status="Failed"] .step-message').innerText()).toMatch(/bucket/i);
    await screenshot(page, '3-new-export-wizard');

    await page.getByLabel('Bucket').fill(bucket);
    expect(await testSteps()).toEqual(['Passed', 'Passed', 'Passed']);
    // Typed secrets stay in their password inputs; the page never shows them as text.
    expect(await page.locator('body').innerText()).not.toContain(TEST_CREDENTIALS.aws_secret_access_key);

    await page.getByRole('button', { name: 'Save export' }).click();
    await page.waitForURL(/#\/exports\/[0-9a-f-]{36}$/);
    exportId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Website events', exact: true }).waitFor();
    const saved = await call('GET', `/${exportId}`);
    expect(saved).toMatchObject({ name: 'Website events', model: 'events', interval: 'hour', paused: false });
    expect(saved.destination.config).toMatchObject({ bucket_name: bucket, file_format: 'JSONLines', compression: 'gzip' });
  });

  it('starts a backfill after showing its interval count, and its progress bar reaches 100%', async () => {
    await page.getByRole('link', { name: 'Backfills' }).click();
    await page.getByRole('heading', { name: 'Backfills of Website events', exact: true }).waitFor();
    // The form starts with the last six whole hours; the API's estimate counts them before anything starts.
    await page.getByTestId('backfill-estimate').getByText('6 intervals').waitFor();
    await page.getByRole('button', { name: 'Start backfill' }).click();
    const done = page.locator('[role="progressbar"][aria-valuenow="100"]');
    await done.waitFor({ timeout: 100_000 });
    await page.locator('.backfill').getByText('Completed').waitFor();
    expect(await page.getByTestId('backfill-done').innerText()).toBe('6 / 6 intervals');
    expect(await page.locator('.backfill-stats').innerText()).toContain(`${6 * EVENTS_PER_HOUR} rows`);
    await screenshot(page, '4-backfills');

    // The next estimate knows the rows per interval from the runs just completed.
    await page.getByTestId('backfill-estimate').getByText(`about ${6 * EVENTS_PER_HOUR} rows`).waitFor();

    await page.getByRole('link', { name: '← Website events' }).click();
    await page.getByRole('heading', { name: 'Last 48 intervals', exact: true }).waitFor();
    await page.locator('.strip .cell[data-status="Completed"]').nth(5).waitFor();
  });

  it('shows every field error of an edit beside its field', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Name', { exact: true }).fill('');
    await page.getByLabel('Bucket').fill('ab');
    await page.getByRole('button', { name: 'Save changes' }).click();
    // The bucket decides where the keys go: changing it needs the secrets again, and the API says so at the key.
    await page.locator('[data-field="destination.config.aws_access_key_id"]').getByText('must be sent again').waitFor();
    await page.getByLabel('Access key id').fill(TEST_CREDENTIALS.aws_access_key_id);
    await page.getByLabel('Secret access key').fill(TEST_CREDENTIALS.aws_secret_access_key);
    await page.getByRole('button', { name: 'Save changes' }).click();
    // With the keys, every other problem comes back at once, each beside its field.
    await page.locator('[data-field="destination.config.bucket_name"]').waitFor();
    await page.locator('[data-field="name"]').waitFor();
    expect(await page.locator('[data-field="destination.config.aws_access_key_id"]').count()).toBe(0);
    await screenshot(page, '5-edit-errors');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await call('GET', `/${exportId}`)).name).toBe('Website events');
  });

  it('edits the query, filters and event lists: a HogQL error beside its field, then a saved exclusion', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    const query = page.getByLabel('HogQL query');
    await query.fill('SELECT event, event FROM events');
    await page.getByLabel('Property filters').fill('[{"key": "$browser"');
    await page.getByRole('button', { name: 'Save changes' }).click();
    // Filters that are not JSON are refused in the browser, beside the field, before anything is sent.
    await page.locator('[data-field="filters"]').getByText('must be JSON').waitFor();
    await page.getByLabel('Property filters').fill('');
    await page.getByLabel('Offset hour').fill('3');
    await page.getByRole('button', { name: 'Save changes' }).click();
    // The API's 400 names hogql_query: its message is shown under the query, tied to it for screen readers.
    const queryError = page.locator('[data-field="hogql_query"]');
    await queryError.getByText('selected twice').waitFor();
    expect(await query.getAttribute('aria-invalid')).toBe('true');
    expect((await query.getAttribute('aria-describedby'))?.split(' ')).toContain(await queryError.getAttribute('id'));
    // The same answer's other error, an offset this hourly export cannot have, is beside its own field.
    await page.locator('[data-field="offset_hour"]').getByText('day and week intervals only').waitFor();
    await screenshot(page, '7-edit-query-error');

    await query.fill('');
    await page.getByLabel('Offset hour').fill('');
    await page.getByLabel('Except these events').fill('$internal, $debug ');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Export saved.').waitFor();
    const saved = await call('GET', `/${exportId}`);
    expect(saved.hogql_query).toBeNull();
    expect(saved.destination.config).toMatchObject({ bucket_name: bucket, exclude_events: ['$internal', '$debug'] });
    // Opened again after a reload, the form shows what is stored.
    await page.reload();
    await page.getByRole('button', { name: 'Edit' }).click();
    expect(await page.getByLabel('Except these events').inputValue()).toBe('$internal, $debug');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('shows a failed interval in the run history strip, and retries it', async () => {
    // An interval exported to a bucket that does not exist fails at once (a configuration error, not retried).
    const failingEnd = new Date(Math.floor(Date.now() / HOUR) * HOUR - 8 * HOUR);
    const destination = { type: 'S3', config: { bucket_name: `gone-${bucket}`, ...TEST_CREDENTIALS } };
    await call('PATCH', `/${exportId}`, { destination });
    await call('POST', `/${exportId}/backfills`, {
      start_at: new Date(failingEnd.getTime() - HOUR).toISOString(),
      end_at: failingEnd.toISOString(),
    });
    const cell = (status: string) =>
      page.locator(`.strip .cell[data-interval-end="${failingEnd.toISOString()}"][data-status="${status}"]`);
    const failedCell = cell('Failed');
    await failedCell.waitFor({ timeout: 60_000 });
    expect(await failedCell.getAttribute('title')).toContain('Failed');
    expect(await failedCell.getAttribute('title')).toContain('bucket');
    // Between the completed hours and the failed one, two hours without runs show as gaps.
    expect(await page.locator('.strip .cell[data-status="Missing"]').count()).toBeGreaterThan(0);

    await call('PATCH', `/${exportId}`, { destination: { type: 'S3', config: { bucket_name: bucket, ...TEST_CREDENTIALS } } });
    await page.locator('.meta').getByText(`S3 ${bucket} ·`).waitFor();
    // By keyboard: the cells are buttons.
    await failedCell.focus();
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('selected-run');
    await detail.getByText('Failed').first().waitFor();
    await screenshot(page, '2-export');
    await detail.getByRole('button', { name: /^Retry/ }).click();
    await cell('Completed').waitFor({ timeout: 60_000 });
  });

  it('pauses and unpauses the export', async () => {
    const state = page.getByTestId('export-state');
    await page.getByRole('button', { name: 'Pause' }).click();
    await state.getByText('Paused').waitFor();
    expect((await call('GET', `/${exportId}`)).paused).toBe(true);
    await page.getByRole('button', { name: 'Unpause' }).click();
    await state.getByText('Active').waitFor();
    expect((await call('GET', `/${exportId}`)).paused).toBe(false);
  });

  it('shows a read-only key no write controls', async () => {
    const viewer = await laptopPage(browser);
    await viewer.goto(`${baseUrl}/ui/`);
    await viewer.getByLabel('Personal API key').fill(readKey);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByRole('link', { name: 'Website events' }).waitFor();
    await viewer.getByText('read-only').waitFor();
    await screenshot(viewer, '0-exports');
    expect(await viewer.getByRole('link', { name: 'New export' }).count()).toBe(0);
    const filter = viewer.getByLabel('Status');
    await filter.selectOption('paused');
    await viewer.getByText('No exports match this filter.').waitFor();
    await filter.selectOption('active');
    await viewer.getByRole('link', { name: 'Website events' }).waitFor();

    await viewer.getByRole('link', { name: 'Website events' }).click();
    await viewer.getByRole('heading', { name: 'Last 48 intervals', exact: true }).waitFor();
    await viewer.locator('.strip .cell[data-status="Completed"]').nth(6).waitFor();
    await screenshot(viewer, '6-read-only-export');
    // The logs at the ERROR level only: the failed run's and its backfill's.
    await viewer.getByRole('checkbox', { name: 'INFO' }).uncheck();
    await viewer.getByRole('checkbox', { name: 'WARNING' }).uncheck();
    await expect.poll(() => viewer.locator('.log:not(.log-error)').count()).toBe(0);
    expect(await viewer.locator('.log-error').count()).toBeGreaterThan(0);
    for (const name of ['Pause', 'Unpause', 'Edit', 'Delete', 'Retry', 'Cancel']) {
      expect(await viewer.getByRole('button', { name: new RegExp(`^${name}`) }).count(), name).toBe(0);
    }
    await viewer.getByRole('link', { name: 'Backfills' }).click();
    await viewer.locator('.backfill').first().waitFor();
    expect(await viewer.getByRole('button', { name: /Start backfill|Cancel backfill/ }).count()).toBe(0);
    await viewer.context().close();
  });

  it('cancels a run that keeps retrying from the runs table, and a backfill from its page', async () => {
    // An endpoint where nothing listens: every attempt fails and is retried, so the runs stay Running until cancelled.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await call('POST', '', {
      name: 'Unreachable bucket',
      interval: 'hour',
      paused: true,
      destination: { type: 'S3', config: { bucket_name: bucket, endpoint_url: endpoint, ...TEST_CREDENTIALS } },
    });
    const end = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    await call('POST', `/${unreachable.id}/backfills`, {
      start_at: new Date(end - HOUR).toISOString(),
      end_at: new Date(end).toISOString(),
    });
    await page.goto(`${baseUrl}/ui/#/exports/${unreachable.id}`);
    const cancelRun = page.getByRole('button', { name: /^Cancel the run/ });
    await cancelRun.waitFor({ timeout: 60_000 });
    await cancelRun.click();
    await page.locator('tbody .badge', { hasText: 'Cancelled' }).waitFor();
    expect(await page.getByRole('button', { name: /^Cancel the run/ }).count()).toBe(0);

    await page.getByRole('link', { name: 'Backfills' }).click();
    const start = new Date(end - 8 * HOUR).toISOString();
    await page.getByLabel('From', { exact: true }).fill(start);
    await page.getByLabel('To', { exact: true }).fill(new Date(end - 6 * HOUR).toISOString());
    await page.getByTestId('backfill-estimate').getByText('2 intervals').waitFor();
    await page.getByRole('button', { name: 'Start backfill' }).click();
    // The backfill of the cancelled run may still be winding down: the new one is found by its range.
    const from = `${start.slice(0, 10)} ${start.slice(11, 16)} UTC`;
    await page.getByRole('button', { name: `Cancel backfill from ${from}` }).click();
    const backfill = page.locator('.backfill', { hasText: `${from} →` });
    await backfill.locator('.badge', { hasText: 'Cancelled' }).waitFor();
    await backfill.getByText('Cancelled by request').waitFor();
    await call('DELETE', `/${unreachable.id}`);
    await page.goto(`${baseUrl}/ui/#/exports/${exportId}`);
    await page.getByRole('heading', { name: 'Website events', exact: true }).waitFor();
  });

  it('deletes the export after a confirmation', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Delete "Website events"?').waitFor();
    await dialog.getByRole('button', { name: 'Delete export' }).click();
    await page.getByText('No exports yet.').waitFor();
    expect((await call('GET', '')).count).toBe(0);
  });

  it('creates a Postgres export through the wizard, testing the connection to the local Postgres', async () => {
    const database = new URL(stack.db.url);
    await page.getByRole('link', { name: 'New export' }).first().click();
    await page.getByRole('heading', { name: 'New export', exact: true }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Events to Postgres');
    await page.getByRole('radio', { name: 'Postgres' }).check();
    await page.getByLabel('Host', { exact: true }).fill(database.hostname);
    await page.getByLabel('Port', { exact: true }).fill(database.port || '5432');
    await page.getByLabel('Database', { exact: true }).fill(database.pathname.slice(1));
    await page.getByLabel('Schema', { exact: true }).fill('no_such_schema');
    await page.getByLabel('Table', { exact: true }).fill('console_events');
    await page.getByLabel('User', { exact: true }).fill(decodeURIComponent(database.username) || 'postgres');
    // A table destination has no file format to choose.
    await page.getByText('no file format to choose').waitFor();

    // The server answers, the schema is not there: the second step fails and the table step is skipped.
    expect(await testSteps()).toEqual(['Passed', 'Failed', 'Skipped']);
    expect(await page.locator('.test-step[data-status="Failed"] .step-message').innerText()).toContain('no_such_schema');
    await page.getByLabel('Schema', { exact: true }).fill('public');
    expect(await testSteps()).toEqual(['Passed', 'Passed', 'Passed']);
    await screenshot(page, '8-new-postgres-export');

    await page.getByRole('button', { name: 'Save export' }).click();
    await page.waitForURL(/#\/exports\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Events to Postgres', exact: true }).waitFor();
    const saved = await call('GET', `/${id}`);
    expect(saved.destination.type).toBe('Postgres');
    expect(saved.destination.config).toMatchObject({
      host: database.hostname,
      database: database.pathname.slice(1),
      schema: 'public',
      table_name: 'console_events',
    });
    // The user and password are write-only: the API never returns them.
    expect(saved.destination.config).not.toHaveProperty('password');
    expect(saved.destination.config).not.toHaveProperty('user');
    await call('DELETE', `/${id}`);
  });
});
