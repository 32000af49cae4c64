// Hand-made RTP parameters, shared with the benchmarks: tools/harness/media.ts.
export * from '../../tools/harness/media.ts';
