// A throwaway Redis, shared with the benchmarks: tools/harness/redis.ts.
export * from '../../tools/harness/redis.ts';
