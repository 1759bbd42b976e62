declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    silent?: boolean;
    directory: string;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    /** S3 event notifications (ObjectCreated:Put, ...), shaped like the ones S3 sends. */
    on(event: 'event', listener: (event: import('aws-lambda').S3Event) => void): this;
  }
}
