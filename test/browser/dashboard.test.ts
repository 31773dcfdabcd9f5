/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core; never a downloaded
 * browser) against a real cluster (`shardgate cluster up --shards 2 --coreapps 3` on SQLite): log in
 * through the form, see the masters and coreapps with their roles, kill -9 the primary coreapp of
 * shard 0 and see a new owner and a failover event with its duration within the failover bound,
 * then change the shard count to 1 through the page (keyboard only, with its confirmation).
 * Screenshots go to test-results/ (desktop 1280×800 and phone 390 px wide).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { killAll, shardgate } from '../e2e/processes.js';
import { registerDashboard } from '../../src/dashboard/dashboard-plugin.js';
import { readTopology } from '../../src/roles/gateway/cluster-topology.js';
import { MASTER_LEASE } from '../../src/roles/gateway/gateway-node.js';
import { ADMIN_PASSWORD as HARNESS_ADMIN_PASSWORD, startApi } from '../api/support/api-harness.js';
import { ADMIN_PASSWORD, Load, withCluster, type TestCluster } from '../cluster/support/cluster.js';
import { adminToken } from '../support/admin-login.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
/** Default settings: unhealthy_interval 5 s; the failover bound is that + 1 s. */
const FAILOVER_BOUND_MS = 5_000 + 1_000;
/** What the page adds on top: one snapshot interval (1 s), a read and a render, with slack for a loaded 2-core machine. */
const PAGE_LAG_MS = 3_000;

const sqlite = SQL_TARGETS.find((t) => t.name === 'sqlite');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
});

async function launch(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  return browser;
}

async function logIn(page: Page, url: string, password: string): Promise<void> {
  await page.goto(`${url}/dashboard`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#dash-view').waitFor({ state: 'visible' });
}

/** Horizontal overflow of the page in CSS pixels (0: nothing sticks out). */
async function overflowX(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/** The rows of the topology table: node id → the role the page shows. */
async function rolesOnPage(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#nodes tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-node-id') ?? '', r.getAttribute('data-role') ?? ''])));
}

async function shardTile(page: Page, shard: number): Promise<{ owner: string; state: string } | null> {
  const tile = page.locator(`#shard-grid li[data-shard="${shard}"]`);
  if ((await tile.count()) !== 1) return null;
  return { owner: (await tile.getAttribute('data-owner')) ?? '', state: (await tile.locator('.state').textContent()) ?? '' };
}

/** The text of the focused element (test files compile without the DOM types, so as a string). */
async function focused(page: Page): Promise<string | null> {
  return page.evaluate<string | null>('document.activeElement && document.activeElement.textContent');
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${RESULTS}${name}`, fullPage: true });
}

/** Runs `work`; if it fails, the page as it was then goes to test-results/<name> (before anything is stopped). */
async function capturingFailure<T>(page: Page, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await screenshot(page, name).catch(() => {});
    throw error;
  }
}

describe.skipIf(!existsSync(CHROMIUM) || sqlite === undefined)('dashboard in Chromium', () => {
  it('shows the cluster, hands shard 1 over, follows a kill -9 failover of shard 0, and changes the shard count to 1', async () => {
    mkdirSync(RESULTS, { recursive: true });
    const chrome = await launch();
    await withCluster(sqlite as NonNullable<typeof sqlite>, { masters: 2, coreapps: 3, shards: 2 }, async (cluster: TestCluster) => {
      const page = await chrome.newPage({ viewport: { width: 1280, height: 800 } });
      await capturingFailure(page, 'dashboard-cluster-failure.png', () => clusterScenario(cluster, page));
    });
  });

  it('shardgate start (one node): one single node serving shard 0; the intervals are edited through the confirmation dialog', async () => {
    mkdirSync(RESULTS, { recursive: true });
    const data = mkdtempSync(join(tmpdir(), 'shardgate-dashboard-'));
    const password = 'Single-node-Passw0rd!';
    const proc = shardgate(['start', '--port', '0', '--data', data], { SHARDGATE_ADMIN_PASSWORD: password });
    try {
      const url = (await proc.waitForOutput(/API\s+(http:\/\/\S+)/))[1] as string;
      const page = await (await launch()).newPage({ viewport: { width: 1280, height: 800 } });
      await logIn(page, url, password);
      await waitFor('the single node serving shard 0', async () => {
        const roles = Object.values(await rolesOnPage(page));
        const tile = await shardTile(page, 0);
        return roles.length === 1 && roles[0] === 'single' && tile?.state === 'serving';
      }, 20_000, 100);
      // One process runs one coreapp: no handover to offer.
      expect(await page.locator('#handover-form').isVisible()).toBe(false);
      await page.getByLabel('heartbeat_interval (s)').fill('0.5');
      await page.getByLabel('unhealthy_interval (s)').fill('3');
      await page.getByRole('button', { name: 'Save intervals…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.textContent()).toContain('heartbeat_interval to 0.5 s and unhealthy_interval to 3 s');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved: heartbeat_interval 0.5 s, unhealthy_interval 3 s.').waitFor({ state: 'visible' });
      const settings = await (await fetch(`${url}/v1/settings/application`, { headers: { authorization: `Bearer ${await adminToken(url, password)}` } })).json() as { settings: { application: { heartbeat_interval: number; unhealthy_interval: number } } };
      expect(settings.settings.application).toMatchObject({ heartbeat_interval: 0.5, unhealthy_interval: 3 });
      // Cancel really cancels: nothing changes.
      await page.getByLabel('unhealthy_interval (s)').fill('9');
      await page.getByRole('button', { name: 'Save intervals…' }).click();
      await page.keyboard.press('Escape');
      await page.getByText('Cancelled.').waitFor({ state: 'visible' });
      await screenshot(page, 'dashboard-single.png');
      await page.close();
    } finally {
      await proc.stop('SIGINT');
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('32 shards stay readable: a compact grid at 1280 px and at 390 px, nothing wider than the screen', async () => {
    mkdirSync(RESULTS, { recursive: true });
    const h = await startApi({ registeredShards: 32 });
    try {
      const now = h.clock.nowMs();
      const map = await h.stores.shardMap.current();
      const generation = map?.generation.generation ?? -1;
      await h.stores.nodes.register({ id: 'host-a:00000000000a', role: 'master', hostname: 'host-a', internalUrl: null, status: 'serving' });
      await h.stores.nodes.register({ id: 'host-b:00000000000b', role: 'master', hostname: 'host-b', internalUrl: null, status: 'serving' });
      await h.stores.leases.acquire(MASTER_LEASE, 'host-a:00000000000a', 3_000);
      for (let shard = 0; shard < 34; shard++) {
        const id = `core-${String(shard).padStart(2, '0')}:${String(shard).padStart(12, '0')}`;
        await h.stores.nodes.register({ id, role: 'coreapp', hostname: `core-${shard}`, internalUrl: null, status: 'connected' });
        if (shard < 31) {
          await h.stores.nodes.touch(id, { status: 'connected', shard });
          await h.stores.shardMap.assign(generation, shard, id, 1, now);
        }
      }
      for (let i = 0; i < 40; i++) {
        await h.stores.messages.insert({ id: `m-${i}`, generation, shard: i % 5, recipient: '15550001', payload: '{}', idempotencyKey: null, createdAtMs: now });
      }
      await registerDashboard(h.app, { stores: h.stores, nodeId: 'web:000000000001', mode: 'cluster', masterLease: MASTER_LEASE, topology: (s) => readTopology(h.stores, s) });
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      const page = await (await launch()).newPage({ viewport: { width: 1280, height: 800 } });
      await logIn(page, url, HARNESS_ADMIN_PASSWORD);
      await waitFor('32 shard tiles', async () => (await page.locator('#shard-grid li').count()) === 32, 10_000, 50);
      expect(await shardTile(page, 31)).toEqual({ owner: '', state: 'no owner' });
      expect(await shardTile(page, 30)).toEqual({ owner: 'core-30:000000000030', state: 'serving' });
      // Compact: the whole grid fits in one screen height at 1280×800.
      const grid = await page.locator('#shard-grid').boundingBox();
      expect(grid?.height ?? Infinity).toBeLessThan(800);
      expect(await overflowX(page)).toBeLessThanOrEqual(0);
      await page.locator('#shards-title').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${RESULTS}dashboard-32-shards.png` });
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await overflowX(page)).toBeLessThanOrEqual(0);
      await page.locator('#shards-title').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${RESULTS}dashboard-32-shards-phone.png` });
      await page.close();
    } finally {
      await h.close();
    }
  });
});

/** The cluster scenario, on a logged-out page at 1280×800. */
async function clusterScenario(cluster: TestCluster, page: Page): Promise<void> {
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => consoleErrors.push(error.message));

  // Log in through the form.
  await logIn(page, cluster.file.api_url, ADMIN_PASSWORD);

  // 2 masters (one primary) and 3 coreapps (a primary for each of the 2 shards, one secondary).
  const masters = cluster.file.nodes.filter((n) => n.role === 'master').map((n) => n.node_id);
  const coreapps = cluster.file.nodes.filter((n) => n.role === 'coreapp').map((n) => n.node_id);
  expect(masters).toHaveLength(2);
  expect(coreapps).toHaveLength(3);
  const roles = await waitFor('2 masters and 3 coreapps with their roles on the page', async () => {
    const seen = await rolesOnPage(page);
    const masterRoles = masters.map((id) => seen[id]).sort();
    const coreappRoles = coreapps.map((id) => seen[id]).sort();
    const ok =
      JSON.stringify(masterRoles) === JSON.stringify(['primary_master', 'secondary_master']) &&
      JSON.stringify(coreappRoles) === JSON.stringify(['primary_coreapp', 'primary_coreapp', 'secondary_coreapp']);
    return ok ? seen : undefined;
  }, 30_000, 100);
  expect(Object.values(roles).filter((r) => r === 'webapp')).toHaveLength(1);
  expect(await page.locator('#admin').isVisible()).toBe(true);
  expect(await page.locator('#handover-form').isVisible()).toBe(true);

  // Some traffic, so throughput and queues move; then the first screenshot.
  const load = new Load(cluster, 20);
  load.start();
  try {
    await withLoad(cluster, page, load, coreapps, consoleErrors);
  } finally {
    await load.stop();
  }
}

/** The rest of the cluster scenario, with the load running (stopped by the caller whatever happens). */
async function withLoad(cluster: TestCluster, page: Page, load: Load, coreapps: readonly string[], consoleErrors: readonly string[]): Promise<void> {
  await load.waitForMore(40);
  const owner = await waitFor('shard 0 served on the page', async () => {
    const tile = await shardTile(page, 0);
    return tile !== null && tile.owner !== '' && tile.state === 'serving' ? tile.owner : undefined;
  }, 30_000, 100);
  expect(coreapps).toContain(owner);
  await waitFor('a throughput figure on the page', async () => /\d/.test((await page.locator('#sum-rate').textContent()) ?? ''), 15_000, 100);
  await screenshot(page, 'dashboard-cluster.png');

  // Hand shard 1 over gracefully (the admin endpoint): the secondary takes it, the old owner stays as secondary.
  const owner1 = (await shardTile(page, 1))?.owner ?? '';
  expect(coreapps).toContain(owner1);
  await page.getByLabel('Shard to hand over to another coreapp').selectOption('1');
  await page.getByRole('button', { name: 'Hand over…' }).click();
  await page.getByRole('dialog').waitFor({ state: 'visible' });
  await page.getByRole('dialog').getByRole('button', { name: 'Hand over' }).click();
  await page.getByText(/^Shard 1 was handed over to /).waitFor({ state: 'visible', timeout: 40_000 });
  const handedTo = await waitFor('shard 1 served by another coreapp, the old owner a secondary', async () => {
    const tile = await shardTile(page, 1);
    const seen = await rolesOnPage(page);
    return tile !== null && tile.owner !== owner1 && tile.owner !== '' && tile.state === 'serving' && seen[owner1] === 'secondary_coreapp' ? tile.owner : undefined;
  }, 15_000, 100);
  expect(coreapps).toContain(handedTo);
  expect(await page.locator('#action-result').textContent()).toContain(handedTo);
  await waitFor('the handover on the timeline', async () => (await page.locator('#events li[data-kind="handed_over"][data-shard="1"]').count()) === 1, 10_000, 100);

  // kill -9 the primary coreapp of shard 0 (read from the page), then poll the page with a deadline.
  // The only secondary now is the coreapp that handed shard 1 over: it must be a candidate again.
  const killedAt = cluster.kill9(cluster.nameOf(owner));
  const after = await waitFor('a new owner of shard 0 and a failover event on the page', async () => {
    const tile = await shardTile(page, 0);
    if (tile === null || tile.owner === '' || tile.owner === owner || tile.state !== 'serving') return undefined;
    const failover = await page.$eval('#events', (list) => {
      const li = list.querySelector('li[data-kind="failover"][data-shard="0"]');
      return li === null ? null : { ms: Number(li.getAttribute('data-failover-ms')), text: li.textContent ?? '' };
    });
    return failover === null ? undefined : { tile, failover, seenAfterMs: Date.now() - killedAt };
  }, FAILOVER_BOUND_MS + PAGE_LAG_MS, 100);
  process.stdout.write(`DASHBOARD failover seen on the page ${after.seenAfterMs} ms after the kill; event says ${after.failover.ms} ms\n`);
  expect(after.tile.owner).toBe(owner1);
  expect(after.failover.ms).toBeGreaterThan(0);
  expect(after.failover.ms).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
  expect(after.failover.text).toMatch(/shard 0: .* → .* in \d+(\.\d)? (ms|s) after it was judged unhealthy/);
  await screenshot(page, 'dashboard-after-failover.png');

  // Change the shard count to 1 with the keyboard only: select, button, confirmation dialog.
  await page.getByLabel('New shard count').focus();
  await page.keyboard.press('Home'); // the first option: 1
  expect(await page.getByLabel('New shard count').inputValue()).toBe('1');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toBe('Change shard count…');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  expect(await dialog.textContent()).toContain('from 2 to 1');
  await page.screenshot({ path: `${RESULTS}dashboard-confirm.png` }); // the viewport: a modal is drawn over it
  expect(await focused(page)).toBe('Cancel');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toBe('Change to 1');
  await page.keyboard.press('Enter');
  await page.getByText('The shard count is now 1.').waitFor({ state: 'visible', timeout: 150_000 });
  await waitFor('one shard served on the page', async () => {
    const tiles = await page.$$eval('#shard-grid li', (list) => list.map((li) => li.querySelector('.state')?.textContent ?? ''));
    return tiles.length === 1 && tiles[0] === 'serving';
  }, 30_000, 100);
  await waitFor('the shard-count change on the timeline', async () => (await page.locator('#events li[data-kind="shards_changed"]').count()) > 0, 10_000, 100);
  await load.stop();
  expect(load.errors).toEqual([]);
  await screenshot(page, 'dashboard-after-shard-change.png');

  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: `${RESULTS}dashboard-phone.png` });
  await screenshot(page, 'dashboard-phone-full.png');
  expect(await overflowX(page)).toBeLessThanOrEqual(0);
  expect(consoleErrors).toEqual([]);
  await page.close();
}
