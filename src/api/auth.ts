import type { FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { findApiKey, type ApiKeyRecord, type ApiKeyScope } from '../db/api-keys';
import { getProject, listProjectIds } from '../db/organizations';
import { forbidden, notFound, unauthorized } from './errors';
import { isUuid } from '../ids';

/** Who is calling, and the projects (teams) the route's organization or project gives them. */
export interface Access {
  key: ApiKeyRecord;
  /** Recorded as who paused, cancelled or deleted something. */
  actor: string;
  organizationId: string;
  teamIds: number[];
}

declare module 'fastify' {
  interface FastifyRequest {
    access: Access;
  }
  interface FastifyContextConfig {
    /** The API key scope the route requires; routes without one are public (health, docs). */
    scope?: Exclude<ApiKeyScope, '*'>;
    /**
     * The route is about the key itself (the web console's session), not one organization or project in its path:
     * it reaches every project of the key's organization the key is limited to.
     */
    wholeKey?: boolean;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * onRequest hook: authenticates the personal API key, checks the route's scope and resolves the organization or
 * project in the path, before the body is even parsed. 401 without a valid key, 403 without the scope or access.
 */
export function authenticate(pool: Pool) {
  return async (request: FastifyRequest): Promise<void> => {
    const scope = request.routeOptions.config.scope;
    if (!scope) return;
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw unauthorized(
        'Authentication credentials were not provided: send "Authorization: Bearer <personal API key>"',
      );
    }
    const key = await findApiKey(pool, token);
    if (!key) throw unauthorized('The personal API key is not valid.');
    if (!hasScope(key, scope)) throw forbidden(`This API key does not have the ${scope} scope.`);
    const params = request.routeOptions.config.wholeKey
      ? { organization_id: key.organization_id }
      : (request.params as Record<string, string | undefined>);
    const reach = await teamsInReach(pool, key, params);
    request.access = { key, actor: key.user_email, ...reach };
  };
}

/** Write implies read: a key that may change exports may look at them. */
function hasScope(key: ApiKeyRecord, scope: Exclude<ApiKeyScope, '*'>): boolean {
  return key.scopes.includes('*') || key.scopes.includes(scope) || key.scopes.includes('batch_export:write');
}

async function teamsInReach(
  pool: Pool,
  key: ApiKeyRecord,
  params: Record<string, string | undefined>,
): Promise<Pick<Access, 'organizationId' | 'teamIds'>> {
  const allowed = (teamId: number) => key.scoped_project_ids === null || key.scoped_project_ids.includes(teamId);
  if (params.project_id !== undefined) {
    if (!/^\d{1,18}$/.test(params.project_id)) throw notFound();
    const project = await getProject(pool, Number(params.project_id));
    if (!project || project.organization_id !== key.organization_id || !allowed(project.id)) {
      throw forbidden(`This API key cannot access project ${params.project_id}.`);
    }
    return { organizationId: project.organization_id, teamIds: [project.id] };
  }
  if (params.organization_id !== undefined) {
    if (!isUuid(params.organization_id)) throw notFound();
    if (params.organization_id.toLowerCase() !== key.organization_id) {
      throw forbidden('This API key cannot access this organization.');
    }
    return {
      organizationId: key.organization_id,
      teamIds: (await listProjectIds(pool, key.organization_id)).filter(allowed),
    };
  }
  throw new Error('A route with a scope must have a project_id or organization_id path parameter');
}
