import {defineConfig} from 'vite';

// Built into dist/, served by motorpool (MOTORPOOL_WEB_DIR); `npm run dev` proxies the API to a
// motorpool on :8000.
export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    // The dashboard, and Swagger UI on a page of its own (its bundle never loads with the app).
    rollupOptions: {input: {main: 'index.html', docs: 'docs.html'}},
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: {
      '/api': {target: 'http://127.0.0.1:8000', ws: true},
      '/oauth': 'http://127.0.0.1:8000',
    },
  },
});
