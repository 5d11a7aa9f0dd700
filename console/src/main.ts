/**
 * The console's shell: asks for an API token, then draws the page the hash names. Every page reads the
 * API with that token, so a viewer sees, an operator replays and triggers, and an admin redrives.
 */
import { ApiFailure, setToken, token } from './api';
import { h } from './dom';
import type { PageContext } from './page';
import { deadLettersPage } from './pages/dead-letters';
import { integrationsPage } from './pages/integrations';
import { quarantinePage } from './pages/quarantine';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { throughputPage } from './pages/throughput';

const PAGES: { hash: string; title: string }[] = [
  { hash: '#/integrations', title: 'Integrations' },
  { hash: '#/runs', title: 'Runs' },
  { hash: '#/quarantine', title: 'Quarantine' },
  { hash: '#/dead-letters', title: 'Dead letters' },
  { hash: '#/throughput', title: 'Records per hour' },
];

const page = document.getElementById('page')!;
const banner = document.getElementById('error')!;
const notice = document.getElementById('notice')!;
let generation = 0;
/** A line to show once the next page is drawn (what an action did). */
let pendingNotice: string | null = null;

function showError(error: unknown) {
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
}

function loginForm(reason?: string) {
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    'aria-label': 'API token',
  }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'login' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API token (data-sync login, or POST /api/tokens). It stays in this tab only.'),
    reason ? h('p', { class: 'error-text' }, reason) : null,
    input,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    void route();
  });
  document.getElementById('nav')!.replaceChildren();
  document.getElementById('who')!.replaceChildren();
  page.replaceChildren(form);
  input.focus();
}

function nav(current: string) {
  document
    .getElementById('nav')!
    .replaceChildren(
      ...PAGES.map((p) => h('a', { href: p.hash, class: current.startsWith(p.hash) ? 'active' : undefined }, p.title)),
    );
  document.getElementById('who')!.replaceChildren(
    h(
      'button',
      {
        onclick: () => {
          setToken(null);
          loginForm();
        },
      },
      'Sign out',
    ),
  );
}

async function route(): Promise<void> {
  const mine = ++generation;
  banner.hidden = true;
  notice.hidden = true;
  if (!token()) return loginForm();
  const hash = location.hash || '#/integrations';
  nav(hash);
  const ctx: PageContext = {
    go: (target, message) => {
      pendingNotice = message ?? null;
      if (location.hash === target) void route();
      else location.hash = target;
    },
    act: (action) => void action().then(undefined, (error) => route().then(() => showError(error))),
    left: () => mine !== generation,
  };
  try {
    page.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    const run = /^#\/runs\/([A-Za-z0-9_-]+)$/.exec(hash);
    if (run) await runPage(page, ctx, run[1]);
    else if (hash === '#/runs') await runsPage(page);
    else if (hash === '#/quarantine') await quarantinePage(page, ctx);
    else if (hash === '#/dead-letters') await deadLettersPage(page, ctx);
    else if (hash === '#/throughput') await throughputPage(page);
    else await integrationsPage(page, ctx);
    if (pendingNotice && mine === generation) {
      notice.textContent = pendingNotice;
      notice.hidden = false;
      pendingNotice = null;
    }
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiFailure && error.status === 401) {
      setToken(null);
      return loginForm(error.message);
    }
    page.replaceChildren();
    showError(error);
  }
}

window.addEventListener('hashchange', () => void route());
void route();
