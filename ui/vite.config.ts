/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The engine serves dist/ at / and its API at /api/. For `npm run dev`, point DBLAB_API at a
// running engine (default http://127.0.0.1:2345) and the dev server proxies /api to it.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { '/api': process.env.DBLAB_API ?? 'http://127.0.0.1:2345' },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
