import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Runs the built binary (`npm test` builds first), exactly as `npx shardgate` does.
const root = fileURLToPath(new URL('../..', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'shardgate-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function shardgate(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/shardgate.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SHARDGATE_DATABASE_URL: '', ...env },
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('shardgate CLI', () => {
  it('--help lists one command per role and tool', () => {
    const { code, stdout } = shardgate(['--help']);
    expect(code).toBe(0);
    for (const command of ['start', 'cluster', 'master', 'coreapp', 'webapp', 'sim', 'db', 'bench']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it.each(['start', 'cluster', 'cluster up', 'cluster status', 'cluster kill', 'master', 'coreapp', 'webapp', 'sim', 'db', 'db migrate', 'bench'])(
    '`%s --help` prints a usage line',
    (command) => {
      const { code, stdout } = shardgate([...command.split(' '), '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: shardgate ${command} `, 'm'));
    },
  );

  it('db migrate creates the schema on a sqlite: URL, and a second run is a no-op', () => {
    const url = `sqlite:${join(temp, 'cli.db')}`;
    const first = shardgate(['db', 'migrate', '--database-url', url]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied 0001-initial/);
    const second = shardgate(['db', 'migrate'], { SHARDGATE_DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/schema is current \(4 migrations\), nothing to do/);
    const status = shardgate(['db', 'status', '--database-url', url]);
    expect(status.stdout).toMatch(/^0001-initial {2}applied \d{4}-/m);
  });

  it('bad configuration fails with one line naming the setting and the allowed values, exit 2', () => {
    const { code, stdout, stderr } = shardgate(['db', 'migrate'], { SHARDGATE_DATABASE_URL: 'oracle://db/x' });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^shardgate: invalid SHARDGATE_DATABASE_URL=oracle:\/\/db\/x: unknown scheme \(allowed: sqlite:<path> \| postgres:/);
  });

  it.each([
    [['start', '--tls-cert', '/nonexistent/cert.pem'], /both --tls-cert and --tls-key, or neither/],
    [['start', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], /invalid --tls-cert=\/nonexistent\/cert.pem: ENOENT/],
    [['start', '--upstream', 'cloud'], /^shardgate: missing SHARDGATE_CLOUD_PHONE_NUMBER_ID for --upstream cloud: allowed: /],
    [['start', '--upstream', 'cloud', '--upstream-url', 'http://127.0.0.1:7070'], /invalid --upstream-url with --upstream cloud/],
    [['start', '--upstream-url', 'ftp://x'], /invalid --upstream-url=ftp:\/\/x/],
  ])('start refuses bad settings with one line, exit 2 (%j)', (args, message) => {
    const { code, stderr } = shardgate(args as string[], { SHARDGATE_DATABASE_URL: `sqlite:${join(temp, 'start.db')}` });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('an unreachable database is one clear line and exit 1, not a stack trace', () => {
    const { code, stderr } = shardgate(['db', 'migrate', '--database-url', 'postgres://nobody@127.0.0.1:1/nothing']);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^shardgate: .*ECONNREFUSED/);
  });

  const secret = 'a-cluster-secret-of-32-characters';
  it.each([
    [['master'], {}, /missing --cluster-secret/],
    [['master', '--cluster-secret', 'short'], {}, /at least 16 characters/],
    [['coreapp', '--cluster-secret', secret], {}, /missing --upstream-url/],
    [['webapp', '--cluster-secret', secret, '--upstream-url', 'ftp://x'], {}, /invalid --upstream-url=ftp:\/\/x/],
    [['coreapp', '--cluster-secret', secret, '--upstream-url', 'http://127.0.0.1:7070', '--host', '0.0.0.0'], {}, /missing --advertise-host: --host 0.0.0.0 listens everywhere/],
    [['coreapp', '--cluster-secret', secret, '--upstream', 'cloud'], { SHARDGATE_CLOUD_PHONE_NUMBER_ID: '1065403522' }, /missing SHARDGATE_CLOUD_ACCESS_TOKEN \(or SHARDGATE_CLOUD_ACCESS_TOKEN_FILE\) for --upstream cloud/],
    [['webapp', '--cluster-secret', secret, '--upstream', 'cloud', '--upstream-url', 'http://127.0.0.1:7070'], {}, /invalid --upstream-url with --upstream cloud/],
    [['webapp', '--cluster-secret', secret, '--upstream', 'cloud'], { SHARDGATE_CLOUD_PHONE_NUMBER_ID: '1065403522', SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: '/nonexistent/token' }, /invalid SHARDGATE_CLOUD_ACCESS_TOKEN_FILE=\/nonexistent\/token: ENOENT/],
    [['cluster', 'up', '--upstream', 'cloud'], {}, /missing SHARDGATE_CLOUD_PHONE_NUMBER_ID for --upstream cloud/],
    [['coreapp', '--cluster-secret', secret, '--upstream-url', 'http://127.0.0.1:7070', '--advertise-port', '70000'], {}, /invalid --advertise-port=70000: allowed: a port from 1 to 65535/],
    [['cluster', 'up', '--shards', '3'], {}, /invalid --shards=3: allowed: 1 \| 2 \| 4 \| 8 \| 16 \| 32/],
    [['cluster', 'up', '--shards', '4', '--coreapps', '2'], {}, /invalid --coreapps=2: allowed: at least --shards \(4\)/],
    [['cluster', 'status', '--data', '/nonexistent-shardgate-dir'], {}, /no running cluster under \/nonexistent-shardgate-dir/],
    [['cluster', 'kill', 'coreapp-1', '--data', '/nonexistent-shardgate-dir'], {}, /no running cluster under/],
  ])('cluster roles refuse bad settings with one line, exit 2 (%j)', (args, env, message) => {
    const { code, stderr } = shardgate(args as string[], { SHARDGATE_DATABASE_URL: `sqlite:${join(temp, 'roles.db')}`, ...(env as Record<string, string>) });
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });

  it('a Cloud secret given twice, or a bad Cloud setting, is refused without printing the secret', () => {
    const token = 'EAAG-very-secret-token-value-42';
    const env = { SHARDGATE_CLOUD_PHONE_NUMBER_ID: '1065403522', SHARDGATE_CLOUD_ACCESS_TOKEN: token, SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: join(temp, 'token'), SHARDGATE_DATABASE_URL: `sqlite:${join(temp, 'cloud.db')}` };
    const twice = shardgate(['start', '--upstream', 'cloud'], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/invalid SHARDGATE_CLOUD_ACCESS_TOKEN and SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: allowed: one of them, not both/);
    const rate = shardgate(['start', '--upstream', 'cloud'], { ...env, SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: '', SHARDGATE_CLOUD_APP_SECRET: 's3cr3t-app', SHARDGATE_CLOUD_VERIFY_TOKEN: 'v3rify', SHARDGATE_CLOUD_RATE_PER_SECOND: '5000' });
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/invalid SHARDGATE_CLOUD_RATE_PER_SECOND=5000: allowed: an integer from 1 to 1000/);
    for (const out of [twice, rate]) {
      expect(`${out.stdout}${out.stderr}`).not.toContain(token);
      expect(`${out.stdout}${out.stderr}`).not.toContain('s3cr3t-app');
    }
  });
});
