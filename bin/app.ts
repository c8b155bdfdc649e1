#!/usr/bin/env node
import { createApp } from '../lib/app.js';

// Configuration comes from cdk.json's context and `-c key=value`; lib/config.ts validates it.
createApp();
