#!/usr/bin/env node
// The `fasforge` command. Sources are TypeScript, run through tsx's loader.
require('tsx/cjs/api').register();
require('./main.ts')
  .main(process.argv)
  .catch((err) => {
    console.error(`fasforge: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
