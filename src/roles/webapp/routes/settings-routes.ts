/**
 * `/v1/settings/application` (admin): read, patch (only the given fields change; relations between
 * fields are checked on the result), reset. The whole settings object is stored under `application`;
 * other components notice the change through the settings store version. The webhook secret is
 * write-only: GET shows `secret_configured` instead.
 */
import { accountFromStored, ACCOUNT_SETTINGS_KEY } from '../../../core/account.js';
import {
  APPLICATION_SETTINGS_KEY,
  applySettingsPatch,
  DEFAULT_APPLICATION_SETTINGS,
  publicSettings,
  settingsFromStored,
  SettingsValidationError,
  type ApplicationSettings,
} from '../../../core/app-settings.js';
import { ApiError } from '../api-errors.js';
import { ErrorResponse, SettingsPatchBody, SettingsResponse } from '../api-schemas.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse };
const bearer = [{ bearer: [] }];

export function registerSettingsRoutes(app: ApiApp, ctx: WebappContext): void {
  const { stores, clock } = ctx.deps;
  const answer = async (settings: ApplicationSettings) => {
    const account = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
    return { settings: { application: publicSettings(settings, account?.state === 'registered' ? account.wa_id : null) }, meta: ctx.meta };
  };
  const path = '/v1/settings/application';
  app.get(path, { schema: { tags: ['settings'], summary: 'Read the application settings (admin)', security: bearer, response: { 200: SettingsResponse, ...errors } }, config: { auth: 'admin' } }, async () =>
    answer(settingsFromStored(await stores.settings.get(APPLICATION_SETTINGS_KEY))),
  );
  app.patch(
    path,
    { schema: { tags: ['settings'], summary: 'Change the given application settings (admin)', security: bearer, body: SettingsPatchBody, response: { 200: SettingsResponse, ...errors } }, config: { auth: 'admin' } },
    async (request) => {
      const current = settingsFromStored(await stores.settings.get(APPLICATION_SETTINGS_KEY));
      let next: ApplicationSettings;
      try {
        next = applySettingsPatch(current, request.body);
      } catch (error) {
        if (error instanceof SettingsValidationError) throw new ApiError('PARAMETER_INVALID', error.message);
        throw error;
      }
      await stores.settings.set({ [APPLICATION_SETTINGS_KEY]: next }, clock.nowMs());
      ctx.deps.cluster?.settingsChanged();
      return answer(next);
    },
  );
  app.delete(path, { schema: { tags: ['settings'], summary: 'Reset the application settings to their defaults (admin)', security: bearer, response: { 200: SettingsResponse, ...errors } }, config: { auth: 'admin' } }, async () => {
    await stores.settings.remove([APPLICATION_SETTINGS_KEY], clock.nowMs());
    ctx.deps.cluster?.settingsChanged();
    return answer(DEFAULT_APPLICATION_SETTINGS);
  });
}
