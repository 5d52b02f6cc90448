import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/crypto';
import { createOrganization, createProject } from '../../src/db/organizations';
import { useApiTest } from './helpers';

describe('batch exports API: personal API keys, scopes and access', () => {
  const api = useApiTest();
  let base: string;
  let exportId: string;
  let otherProjectId: number;
  let otherProjectExportId: string;

  beforeAll(async () => {
    base = `/api/projects/${api.teamId}/batch_exports`;
    const created = await api.call('POST', base, { body: { name: 'mine', destination: await api.s3Destination() } });
    exportId = created.body.id;
    otherProjectId = (await createProject(api.stack.db.pool, api.organizationId, 'Second project')).id;
    const other = await api.call('POST', `/api/projects/${otherProjectId}/batch_exports`, {
      body: { name: 'theirs', destination: await api.s3Destination() },
    });
    otherProjectExportId = other.body.id;
  });

  it('answers 401 without a key, with an unknown key and with a malformed header', async () => {
    const missing = await api.call('GET', base, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ type: 'authentication_error', code: 'not_authenticated' });
    expect(missing.body.detail).toMatch(/Authorization: Bearer/);
    expect((await api.call('GET', base, { key: 'pak_not-a-real-key' })).status).toBe(401);
    const basic = await api.call('GET', base, { key: null, headers: { authorization: `Basic ${api.key}` } });
    expect(basic.status).toBe(401);
  });

  it('checks the key before looking at the body', async () => {
    const response = await api.call('POST', base, {
      key: null,
      payload: '{broken',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(401);
  });

  it('answers 403 when the key lacks the write scope, and lets it read', async () => {
    const readOnly = await api.newKey({ scopes: ['batch_export:read'] });
    expect((await api.call('GET', base, { key: readOnly })).status).toBe(200);
    expect((await api.call('GET', `${base}/${exportId}`, { key: readOnly })).status).toBe(200);
    for (const [method, url] of [
      ['POST', base],
      ['PATCH', `${base}/${exportId}`],
      ['DELETE', `${base}/${exportId}`],
      ['POST', `${base}/${exportId}/pause`],
      ['POST', `${base}/${exportId}/unpause`],
    ] as const) {
      const response = await api.call(method, url, { key: readOnly, body: method === 'DELETE' ? undefined : {} });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body).toMatchObject({ code: 'permission_denied' });
      expect(response.body.detail).toMatch(/batch_export:write/);
    }
    const still = await api.call('GET', `${base}/${exportId}`);
    expect(still.body.paused).toBe(false);
  });

  it('answers 403 for another organization and for a project the key does not reach', async () => {
    const otherOrganization = await createOrganization(api.stack.db.pool, 'Someone else');
    const foreignProject = await createProject(api.stack.db.pool, otherOrganization.id, 'Foreign');
    expect((await api.call('GET', `/api/organizations/${otherOrganization.id}/batch_exports`)).status).toBe(403);
    expect((await api.call('GET', `/api/projects/${foreignProject.id}/batch_exports`)).status).toBe(403);
    expect((await api.call('GET', `/api/projects/987654/batch_exports`)).status).toBe(403);

    const limited = await api.newKey({ projects: [api.teamId] });
    expect((await api.call('GET', base, { key: limited })).status).toBe(200);
    const denied = await api.call('GET', `/api/projects/${otherProjectId}/batch_exports`, { key: limited });
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toMatch(new RegExp(`project ${otherProjectId}`));
  });

  it("answers 404 for another project's export, never revealing it exists", async () => {
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const response = await api.call(method, `${base}/${otherProjectExportId}`, {
        body: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(response.status, method).toBe(404);
    }
    expect((await api.call('POST', `${base}/${otherProjectExportId}/pause`)).status).toBe(404);
    expect((await api.call('GET', `${base}/${otherProjectExportId}/runs`)).status).toBe(404);
    expect((await api.call('GET', `${base}/${otherProjectExportId}/logs`)).status).toBe(404);
    const theirs = await api.call('GET', `/api/projects/${otherProjectId}/batch_exports/${otherProjectExportId}`);
    expect(theirs.body).toMatchObject({ name: 'theirs', paused: false });
  });

  it('limits organization routes to the projects the key reaches', async () => {
    const limited = await api.newKey({ projects: [api.teamId] });
    const org = `/api/organizations/${api.organizationId}/batch_exports`;
    const listed = await api.call('GET', org, { key: limited });
    expect(listed.body.results.map((e: { id: string }) => e.id)).toEqual([exportId]);
    expect((await api.call('GET', `${org}/${otherProjectExportId}`, { key: limited })).status).toBe(404);
    const everything = await api.call('GET', org);
    expect(everything.body.count).toBe(2);
  });

  it('asks which project a new export under an organization with several projects belongs to', async () => {
    const org = `/api/organizations/${api.organizationId}/batch_exports`;
    const body = { name: 'org-level', destination: await api.s3Destination() };
    const unsaid = await api.call('POST', org, { body });
    expect(unsaid.status).toBe(400);
    expect(unsaid.body).toMatchObject({ attr: 'team_id', code: 'required' });
    const unreachable = await api.call('POST', org, { body: { ...body, team_id: 987654 } });
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.attr).toBe('team_id');
    const created = await api.call('POST', org, { body: { ...body, team_id: otherProjectId } });
    expect(created.status).toBe(201);
    expect(created.body.team_id).toBe(otherProjectId);
  });

  it('records when a key was last used', async () => {
    const fresh = await api.newKey();
    const lastUsed = async () =>
      (
        await api.stack.db.pool.query('SELECT last_used_at FROM personal_api_keys WHERE secure_value = $1', [
          sha256Hex(fresh),
        ])
      ).rows[0].last_used_at;
    expect(await lastUsed()).toBeNull();
    await api.call('GET', base, { key: fresh });
    expect(await lastUsed()).toBeInstanceOf(Date);
  });
});
