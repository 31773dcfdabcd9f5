/**
 * `POST /v1/contacts`: checks numbers at the network and answers in On-Prem's shape. `blocking` and
 * `force_check` are accepted for compatibility; the check always completes before the answer (so
 * `processing` never appears unless the network says so).
 */
import { ContactsBody, ContactsResponse, ErrorResponse } from '../api-schemas.js';
import { upstreamFailure } from '../upstream-failure.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

export function registerContactRoutes(app: ApiApp, ctx: WebappContext): void {
  app.post(
    '/v1/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Check phone numbers (1 to 1000) at the network',
        security: [{ bearer: [] }],
        body: ContactsBody,
        response: { 200: ContactsResponse, 400: ErrorResponse, 401: ErrorResponse, 500: ErrorResponse },
      },
      config: { auth: 'user' },
    },
    async (request) => {
      let checks;
      try {
        checks = await ctx.deps.upstream.checkContacts(request.body.contacts);
      } catch (error) {
        throw upstreamFailure(error, 'the contact check');
      }
      const contacts = checks.map((c) => (c.wa_id === undefined ? { input: c.input, status: c.status } : { input: c.input, status: c.status, wa_id: c.wa_id }));
      return { contacts, meta: ctx.meta };
    },
  );
}
