#!/usr/bin/env node
// The compile cache makes every later start of the CLI faster (Node >= 22.1).
import { enableCompileCache } from 'node:module';
enableCompileCache?.();

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
