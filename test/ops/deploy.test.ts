import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { repoRoot } from '../support/process.js';

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The deployment kit in deploy/: what Docker and systemd would read, checked without running them. */
describe('deployment kit', () => {
  it('Dockerfile: multi-stage, the same install steps as CI, non-root, healthcheck on /ready', () => {
    const docker = read('deploy/Dockerfile');
    const ci = read('.ci/run');
    expect(docker.match(/^FROM /gm)).toHaveLength(2);
    // One install line, identical to CI's.
    const install = /^\s*npm ci[^\n]*$/m.exec(ci)![0].trim();
    expect(docker).toContain(`RUN ${install}\n`);
    expect(docker).toMatch(/RUN npm run build/);
    // Node major of the image = the engines floor of package.json.
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(docker).toMatch(new RegExp(`^FROM node:${/\d+/.exec(engines)![0]}-`, 'm'));
    const user = /^USER (\S+)$/m.exec(docker)?.[1];
    expect(user && !['root', '0'].includes(user)).toBe(true);
    expect(docker).toMatch(/^HEALTHCHECK [\s\S]*\/ready/m);
    // The start command is the built entry point `npm start` runs.
    expect(JSON.parse(read('package.json')).scripts.start).toBe('node dist/src/main.js');
    expect(docker).toContain('CMD ["node", "dist/src/main.js"]');
    for (const dir of ['migrations', 'public', 'bin', 'scripts'])
      expect(docker).toContain(`COPY ${dir} ./${dir}`);
    // pg_dump of the same major version as the compose PostgreSQL.
    const pgMajor = /image: postgres:(\d+)/.exec(read('deploy/compose.yaml'))![1];
    expect(docker).toContain(`postgresql-client-${pgMajor}`);
  });

  it('compose file: service + PostgreSQL + Caddy (docker compose config when the client has compose)', () => {
    const file = path.join(repoRoot, 'deploy', 'compose.yaml');
    const env = { ...process.env, DOMINIO: 'teltec.example.ec', POSTGRES_PASSWORD: 'abc123' };
    const compose = has('docker') ? spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }) : null;
    if (compose?.status === 0) {
      // The real parser, with the .env the guide makes.
      const out = execFileSync(
        'docker',
        ['compose', '-f', file, '--env-file', path.join(repoRoot, 'deploy', 'compose.env.example'), 'config'],
        {
          env,
          encoding: 'utf8',
        },
      );
      expect(out).toContain('DATABASE_URL: postgres://teltec:abc123@postgres:5432/teltec');
      expect(out).toContain('PUBLIC_URL: https://teltec.example.ec');
      return;
    }
    // No compose plugin here (this machine's docker CLI has none): the structure, by hand.
    const y = read('deploy/compose.yaml');
    const services = /^services:\n([\s\S]*?)^\S/m.exec(y)![1]!;
    expect([...services.matchAll(/^ {2}([a-z]+):$/gm)].map((m) => m[1])).toEqual([
      'teltec',
      'postgres',
      'caddy',
    ]);
    expect(y).not.toMatch(/\t/);
    expect(y).toMatch(/dockerfile: deploy\/Dockerfile/);
    expect(y).toMatch(
      /DATABASE_URL: postgres:\/\/teltec:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/teltec/,
    );
    expect(y).toMatch(/PUBLIC_URL: https:\/\/\$\{DOMINIO:\?[^}]+\}/);
    expect(y).toMatch(/condition: service_healthy/);
    expect(y).toMatch(/- "443:443"/);
    expect(y).toMatch(/- \.\/Caddyfile:\/etc\/caddy\/Caddyfile:ro/);
    expect(y).toMatch(/TELTEC_UPSTREAM: teltec:8000/);
    // Only Caddy publishes ports.
    expect(y.match(/^ {4}ports:/gm)).toHaveLength(1);
    // Every variable the compose file requires is in the example .env the guide copies.
    const example = read('deploy/compose.env.example');
    for (const v of new Set([...y.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]))) {
      expect(example).toMatch(new RegExp(`^${v}=`, 'm'));
    }
  });

  it.skipIf(!has('caddy'))('Caddyfile: valid for a real domain (Let’s Encrypt) as shipped', () => {
    const r = spawnSync(
      'caddy',
      ['validate', '--config', path.join(repoRoot, 'deploy', 'Caddyfile'), '--adapter', 'caddyfile'],
      {
        env: { PATH: process.env.PATH ?? '', HOME: '/tmp', DOMINIO: 'notificaciones.teltec.example' },
        encoding: 'utf8',
      },
    );
    expect(r.stdout + r.stderr).toContain('Valid configuration');
    expect(r.status).toBe(0);
  });

  it('systemd unit: own user, read-only system, restart on failure, the built entry point', () => {
    const unit = read('deploy/teltec.service');
    const keys = Object.fromEntries([...unit.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(keys).toMatchObject({
      User: 'teltec',
      Group: 'teltec',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      NoNewPrivileges: 'yes',
      PrivateTmp: 'yes',
      Restart: 'on-failure',
      StateDirectory: 'teltec',
      ReadWritePaths: '/var/lib/teltec',
      ExecStart: '/usr/bin/node /opt/teltec/dist/src/main.js',
      EnvironmentFile: '/etc/teltec/teltec.env',
    });
    // The JIT needs writable+executable memory: this option would kill node.
    expect(unit).not.toMatch(/MemoryDenyWriteExecute=yes/);
    const env = read('deploy/teltec.env.example');
    expect(env).toMatch(/^DATA_DIR=\/var\/lib\/teltec$/m);
    expect(env).toMatch(/^HOST=127\.0\.0\.1$/m);
    if (has('systemd-analyze')) {
      const r = spawnSync('systemd-analyze', ['verify', path.join(repoRoot, 'deploy', 'teltec.service')], {
        encoding: 'utf8',
      });
      expect(r.stderr).not.toMatch(/Unknown (key|section)/);
    }
  });

  it('the guide (Spanish) covers domain, DNS, BotFather, WhatsApp, first admin and backups, with commands that exist', async () => {
    const guide = read('deploy/GUIA.md');
    for (const topic of [
      'DNS',
      'BotFather',
      'WhatsApp',
      'Primer ingreso',
      'Respaldos',
      'diagnostico',
      'PUBLIC_URL',
    ]) {
      expect(guide).toContain(topic);
    }
    const usage: string[] = [];
    await runCli(['ayuda'], (l) => usage.push(l));
    const known = new Set([...usage.join('\n').matchAll(/^ {2}([a-z]+)/gm)].map((m) => m[1]));
    const used = new Set([...guide.matchAll(/(?:npx teltec|deploy\/teltec) ([a-z]+)/g)].map((m) => m[1]));
    for (const c of used) expect(known, `"teltec ${c}" en la guía`).toContain(c);
    expect(used.size).toBeGreaterThanOrEqual(4);
    // Every file the guide copies exists.
    for (const m of guide.matchAll(/deploy\/([A-Za-z.]+[A-Za-z])/g)) {
      expect(() => read(`deploy/${m[1]}`), m[0]).not.toThrow();
    }
  });
});
