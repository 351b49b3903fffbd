#!/usr/bin/env node
// The `driftline` command: runs the TypeScript sources through tsx's loader, so a clone works
// without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli/main.ts');
