import { html } from 'htm/preact';
import { render } from 'preact';
import { App } from './app.js';
import type { PeopleConfig } from './session.js';

/**
 * `config.json` sits next to index.html and is written at deploy time (CDK) or served by the
 * local console server, so one build runs against any API.
 */
interface ConsoleConfig {
  apiUrl: string;
  /** The user pool's app client, where the deployment has one (absent: API tokens only). */
  people?: PeopleConfig;
}

async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  const config = (await response.json()) as Partial<ConsoleConfig>;
  if (typeof config.apiUrl !== 'string' || !config.apiUrl) throw new Error('config.json has no "apiUrl"');
  // Relative URLs mean "this origin" (the local server proxies the API); the client joins paths onto a trailing slash.
  const apiUrl = new URL(config.apiUrl, location.href).href;
  const people = config.people?.clientId && config.people.signInUrl ? { clientId: config.people.clientId, signInUrl: config.people.signInUrl.replace(/\/$/, '') } : undefined;
  return { apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`, people };
}

const root = document.getElementById('app')!;
loadConfig()
  .then((config) => render(html`<${App} apiUrl=${config.apiUrl} people=${config.people} />`, root))
  .catch((error: Error) => {
    render(
      html`<main id="main"><h1>Flashline console</h1><div class="error-notice" role="alert"><strong>The console is not configured</strong><p><code class="error-code">console_config</code> ${error.message}</p></div></main>`,
      root,
    );
  });
