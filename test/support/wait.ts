// until(), shared with the benchmarks: tools/harness/wait.ts.
export * from '../../tools/harness/wait.ts';
