// A JoinTarget for a running Chorus, shared with the benchmarks: tools/harness/joinTarget.ts.
export * from '../../tools/harness/joinTarget.ts';
