// Starts a real motorpool on a fresh SQLite database serving web/dist, for one test file.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface Server {
  base: string;
  /// What the server printed so far (stdout and stderr).
  output(): string;
  stop(): Promise<void>;
}

export function environment(work: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: `sqlite:///${work}/motorpool.db`,
    MOTORPOOL_FILES_DIR: join(work, 'files'),
    MOTORPOOL_WEB_DIR: process.env.MOTORPOOL_WEB_DIR ?? resolve(here, '..', 'dist'),
    MOTORPOOL_ENV: 'test',
    MOTORPOOL_HOST: '127.0.0.1',
    PORT: '0',
    MOTORPOOL_LOG_LEVEL: 'warn',
    SECRET_KEY: 'web-test-secret-key-0123456789abcdef',
    MOTORPOOL_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  };
}

/// A user made with the CLI (any role), then the server started; `extra` adds to its environment.
export async function startServer(users: {email: string; role: string; password: string}[],
  extra: Record<string, string> = {}): Promise<Server> {
  const bin = process.env.MOTORPOOL_BIN;
  if (!bin) throw new Error('set MOTORPOOL_BIN to the motorpool binary');
  const work = mkdtempSync(join(tmpdir(), 'motorpool-web-'));
  const env = {...environment(work), ...extra};
  for (const u of users) {
    const made = spawnSync(bin, ['users', 'create', '--email', u.email, '--role', u.role, '--password-stdin'],
      {env, input: `${u.password}\n`});
    if (made.status !== 0) throw new Error(`users create: ${made.stderr}`);
  }
  const server: ChildProcess = spawn(bin, ['serve'], {env, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  server.stderr!.on('data', (d) => { output += d; });
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`motorpool did not start: ${output}`)), 60_000);
    server.stdout!.on('data', (d) => {
      output += d;
      const m = /motorpool is running at http:\/\/[^:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        done(Number(m[1]));
      }
    });
    server.on('exit', (code) => fail(new Error(`motorpool exited ${code}: ${output}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.on('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      rmSync(work, {recursive: true, force: true});
    },
  };
}

export const password = 'correct horse battery';

/// A JSON request to the API; returns the status and the parsed body (null when empty).
export async function call(base: string, method: string, path: string, token?: string, body?: unknown):
  Promise<{status: number; body: any}> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

/// An access token for a user the server was started with.
export async function login(base: string, email: string): Promise<string> {
  const res = await call(base, 'POST', '/api/v1/auth/login', undefined, {email, password});
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

/// Signs in through the dashboard's form (the page lands on Home).
export async function signIn(page: import('@playwright/test').Page, base: string, email: string): Promise<void> {
  await page.goto(base + '/sign-in');
  await page.getByLabel('E-mail', {exact: true}).fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {level: 1, name: /^Welcome/}).waitFor();
}

/// axe-core's serious and critical violations on the page as it is now.
export async function seriousViolations(page: import('@playwright/test').Page): Promise<string[]> {
  const {default: AxeBuilder} = await import('@axe-core/playwright');
  const results = await new AxeBuilder({page}).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
}

/// Screenshots at the two sizes the README and the issue ask for: desktop 1280x800, phone 390x844.
/// `scrollTo`: a selector brought to the top first (a part of a long page).
export async function screenshots(page: import('@playwright/test').Page, name: string, scrollTo?: string): Promise<void> {
  for (const size of [{width: 1280, height: 800}, {width: 390, height: 844}]) {
    await page.setViewportSize(size);
    if (scrollTo) await page.locator(scrollTo).evaluate((node) => node.scrollIntoView({block: 'start'}));
    await page.screenshot({path: `test-results/screenshots/${name}-${size.width}x${size.height}.png`, fullPage: false});
  }
  await page.setViewportSize({width: 1280, height: 800});
}
