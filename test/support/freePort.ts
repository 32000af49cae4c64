// A free port, shared with the benchmarks: tools/harness/freePort.ts.
export * from '../../tools/harness/freePort.ts';
