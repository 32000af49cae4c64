// The PostgreSQL server, shared with the benchmarks: tools/harness/postgres.ts.
export * from '../../tools/harness/postgres.ts';
