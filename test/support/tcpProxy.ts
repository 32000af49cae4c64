// A TCP proxy to cut, shared with the benchmarks: tools/harness/tcpProxy.ts.
export * from '../../tools/harness/tcpProxy.ts';
