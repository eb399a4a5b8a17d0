// The relay project's global setup (test/node/global-setup.ts) provides the local server's URL.
declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
export {};
