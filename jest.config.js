// Jest runs in native ESM mode (NestJS 12 ships as ES modules only); see README "Development".
const swcTypeScript = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
};

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // Source imports carry the `.js` extension NodeNext requires; jest resolves the `.ts` file.
  // The examples import the package's own `actbridge/verify` export: the sources, as for every spec.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^actbridge/verify$': '<rootDir>/src/verify/index.ts',
    '^actbridge/verify/nest$': '<rootDir>/src/verify/nest.ts',
  },
  transform: {
    '^.+\\.ts$': ['@swc/jest', swcTypeScript],
    // `cookie` is ESM-only but is require()d by light-my-request (Fastify inject); jest's CommonJS
    // loader cannot require ESM on Node 20, so that one package is compiled to CommonJS.
    '/node_modules/cookie/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!cookie/)'],
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/test/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
    '<rootDir>/bench/**/*.spec.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/bench/dist/'],
  testTimeout: 30000,
};
