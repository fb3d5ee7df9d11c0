import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // kernels.html: the CTC kernel self-test and benchmark page (used by e2e and `npm run bench`).
    rollupOptions: { input: { main: 'index.html', kernels: 'kernels.html' } },
  },
  preview: { port: 4173, strictPort: true },
  test: {
    include: ['src/**/*.test.ts', 'python/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
