import tseslint from 'typescript-eslint';

const banned = [
  'sharp', 'onnxruntime-node', 'pg', 'drizzle-orm', 'drizzle-orm/*', 'openai', '@electric-sql/*',
  'fs', 'path', 'child_process', 'node:*', '@temporalio/activity', '@temporalio/client', '@temporalio/worker',
  '../config', '../config/*', '../db', '../db/*',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.fasforge/**', 'cli/bin.js', 'jest.config.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // jest.isolateModules needs a synchronous require to load a fresh module instance.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code must stay deterministic: only the workflow SDK, pure helpers and activity types.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: banned, message: 'workflows import only the workflow SDK, other workflow files and activity types' }] }],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../activities/*', '!../activities/contracts'], message: 'workflows import activity types from contracts only', allowTypeImports: true }] }],
    },
  },
);
