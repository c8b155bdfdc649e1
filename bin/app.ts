#!/usr/bin/env node
import { createApp } from '../lib/app.js';
import { ConfigError } from '../lib/config.js';

// Configuration comes from cdk.json's context and `-c key=value`; lib/config.ts validates it.
try {
  createApp();
} catch (error) {
  // A bad setting is the user's to fix: say which, without a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Parley: ${error.message}`);
  process.exitCode = 1;
}
