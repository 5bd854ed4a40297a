// Starting and stopping a motorpool for an e2e test (not a test file itself: node --test runs
// *.test.mjs only). The environment every e2e server shares, plus the test's own.
import {spawn, spawnSync} from 'node:child_process';
import {join} from 'node:path';

const bin = process.env.MOTORPOOL_BIN;

/// The shared environment for a server keeping its data in `work`, with `extra` on top.
export function serverEnv(work, extra = {}) {
  return {
    ...process.env,
    DATABASE_URL: `sqlite:///${work}/motorpool.db`,
    MOTORPOOL_FILES_DIR: join(work, 'files'),
    MOTORPOOL_ENV: 'test',
    MOTORPOOL_HOST: '127.0.0.1',
    PORT: '0',
    MOTORPOOL_LOG_LEVEL: 'warn',
    SECRET_KEY: 'e2e-secret-key-0123456789abcdef0123',
    MOTORPOOL_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
    SMARTCAR_CLIENT_ID: 'e2e', SMARTCAR_CLIENT_SECRET: 'e2e', SMARTCAR_MANAGEMENT_TOKEN: 'e2e',
    ...extra,
  };
}

/// Runs a motorpool CLI command (`users create …`) with `env`; its exit status and output.
export function runCli(env, args, input = '') {
  return spawnSync(bin, args, {env, input});
}

/// Starts `motorpool serve` with `env` and waits for its URL: {base, stop, kill}.
export async function startServer(env) {
  const server = spawn(bin, ['serve'], {env, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  server.stderr.on('data', (d) => { output += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`motorpool did not start: ${output}`)), 60000);
    server.stdout.on('data', (d) => {
      output += d;
      const m = /motorpool is running at http:\/\/[^:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    server.on('exit', (code) => reject(new Error(`motorpool exited ${code}: ${output}`)));
  });
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.on('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  };
  // kill: a signal without waiting (a crash, for the durability tests).
  return {base: `http://127.0.0.1:${port}`, stop, kill: (signal = 'SIGKILL') => server.kill(signal)};
}
