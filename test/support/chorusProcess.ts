// Chorus as a child process, shared with the benchmarks: tools/harness/chorusProcess.ts.
export * from '../../tools/harness/chorusProcess.ts';
