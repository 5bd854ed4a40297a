// Starts a real motorpool on a fresh SQLite database serving web/dist, for one test file.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface Server {
  base: string;
  stop(): Promise<void>;
}

export function environment(work: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: `sqlite:///${work}/motorpool.db`,
    MOTORPOOL_FILES_DIR: join(work, 'files'),
    MOTORPOOL_WEB_DIR: resolve(here, '..', 'dist'),
    MOTORPOOL_ENV: 'test',
    MOTORPOOL_HOST: '127.0.0.1',
    PORT: '0',
    MOTORPOOL_LOG_LEVEL: 'warn',
    SECRET_KEY: 'web-test-secret-key-0123456789abcdef',
    MOTORPOOL_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  };
}

/// A user made with the CLI (any role), then the server started.
export async function startServer(users: {email: string; role: string; password: string}[]): Promise<Server> {
  const bin = process.env.MOTORPOOL_BIN;
  if (!bin) throw new Error('set MOTORPOOL_BIN to the motorpool binary');
  const work = mkdtempSync(join(tmpdir(), 'motorpool-web-'));
  const env = environment(work);
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
