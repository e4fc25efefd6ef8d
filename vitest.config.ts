import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes (coordinator + nodes over mutual TLS); give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One worker process runs every file (this machine has 2 cores: vitest uses one): without isolation it loads the
    // shared modules (node-seal's WebAssembly, ONNX Runtime, grpc, the proto files) once instead of once per file,
    // about a third of the suite's wall time. No test mocks modules or stubs globals, so files cannot leak into each
    // other that way; each builds its own stores, servers and processes.
    isolate: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
