import {defineConfig} from '@playwright/test';

// Debian's Chromium through its executable path: no browser download (CHROMIUM overrides it).
export default defineConfig({
  testDir: 'tests',
  outputDir: 'test-results',
  workers: 1,
  timeout: 60_000,
  reporter: [['line']],
  use: {
    browserName: 'chromium',
    launchOptions: {executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']},
  },
});
