import {defineConfig} from 'vite';

// Built into dist/, served by motorpool (MOTORPOOL_WEB_DIR); `npm run dev` proxies the API to a
// motorpool on :8000.
export default defineConfig({
  build: {outDir: 'dist', assetsDir: 'assets', sourcemap: false, target: 'es2022'},
  server: {
    proxy: {
      '/api': {target: 'http://127.0.0.1:8000', ws: true},
      '/oauth': 'http://127.0.0.1:8000',
    },
  },
});
