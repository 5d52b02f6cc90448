/**
 * The HTTP API as the CLI and the dev demo use it: one project, one key. A refusal becomes an ApiRequestError whose
 * message is the API's own (`detail`, and the field it names), never a stack trace.
 */
export interface ApiClientOptions {
  /** The API's base address, e.g. http://127.0.0.1:8000 (without /api). */
  baseUrl: string;
  /** A personal API key (pak_...). */
  key: string;
  projectId: number;
}

export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(readonly options: ApiClientOptions) {}

  /** A request to a path under /api/projects/{projectId}; the parsed JSON body, or undefined for a 204. */
  async project<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, `/api/projects/${this.options.projectId}${path}`, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.options.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new ApiRequestError(`Cannot reach the API at ${this.options.baseUrl}: ${reason}`, 0);
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw new ApiRequestError(describeFailure(method, url, response.status, parsed), response.status);
    return parsed as T;
  }
}

/** The body as JSON; undefined when empty or not JSON (a proxy's HTML error page, say). */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function describeFailure(method: string, url: URL, status: number, body: unknown): string {
  const problem = body as { detail?: string; attr?: string | null } | undefined;
  const detail = problem?.detail ?? 'no detail';
  const field = problem?.attr ? ` (${problem.attr})` : '';
  const hint = status === 401 ? ' Check the API key (--api-key or BATCH_EXPORTS_API_KEY).' : '';
  return `${method} ${url.pathname} failed with ${status}: ${detail}${field}.${hint}`;
}
